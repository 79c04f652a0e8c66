{
  "targets": [
    {
      "target_name": "cgibridge_native",
      "sources": ["src/addon.c", "src/child.c", "src/exit-watch.c", "src/request.c", "src/spawn.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags_c": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-O2", "-fvisibility=hidden"],
      "ldflags": ["-Wl,-z,nodelete"]
    }
  ]
}
