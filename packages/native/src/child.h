/*
 * The code that runs in the cloned child, between clone(CLONE_VM|CLONE_VFORK) and execve.
 */
#ifndef CGB_CHILD_H
#define CGB_CHILD_H

#include "spawn.h"

/*
 * Shared by parent and child (CLONE_VM: one address space). The parent is suspended
 * until the child execs or exits, so the child writes `error` and `syscall` with no
 * race; the parent reads them once clone() has returned.
 */
struct cgb_child_context {
  const struct cgb_request *req;
  int ends[3]; /* the child's pipe ends, to become its fds 0, 1 and 2 */
  volatile int error;
  const char *volatile syscall;
};

/* clone()'s entry point: sets the child up and execs; on failure records why and exits 127. */
int cgb_child_main(void *arg);

#endif
