#!/usr/bin/env python3
"""Inventory, untouched since 2009: it prints its page before its headers, then trips over a
file that moved. Served as a bare 502; `npm run dev` shows cgibridge's development page instead."""
import os

print("<h1>Inventory</h1>")
with open(os.environ.get("STOCK_FILE", "/var/lib/acme/stock.csv"), encoding="utf-8") as stock:
    for line in stock:
        print("<p>%s</p>" % line)
