/*
 * Watching a child's exit through its pidfd on the event loop: no SIGCHLD handler,
 * no waitpid(-1), nothing that could reap a child libuv started.
 */
#ifndef CGB_EXIT_WATCH_H
#define CGB_EXIT_WATCH_H

#include <node_api.h>

#include "spawn.h"

/* Per-environment state (the main thread and each worker have their own). */
struct cgb_instance;

/* NULL (and an exception pending) on failure. Freed by the environment's teardown. */
struct cgb_instance *cgb_instance_create(napi_env env);

/*
 * Calls on_exit(code, signo) on the loop's thread once the child has exited and was
 * reaped (code null when killed by a signal, signo null when it exited; both null
 * if somebody else reaped it). Takes the pidfd on success; -1 with an exception
 * pending on failure, when the caller still owns the child.
 */
int cgb_watch_start(napi_env env, struct cgb_instance *instance, const struct cgb_child *child, napi_value on_exit);

/* Kills the group of a child nobody will watch, reaps it, closes its fds: no orphan, no zombie. */
void cgb_abandon_child(const struct cgb_child *child);

/* Counts an async spawn in flight, so teardown waits for its completion. */
void cgb_instance_hold(struct cgb_instance *instance);

/* The completion of an async spawn: 1 if the environment is being torn down (then
 * the caller abandons the child and touches no JavaScript). Call once per hold. */
int cgb_instance_release(struct cgb_instance *instance);

#endif
