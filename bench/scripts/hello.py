#!/usr/bin/python3
# Pinned interpreter: a `#!/usr/bin/env python3` would find whatever is first on PATH (on the
# bench machine a pyenv shim, a bash script that costs ~90 ms before Python starts).
import sys
sys.stdout.write("Content-Type: text/plain\r\n\r\nhello\n")
