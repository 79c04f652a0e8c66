/*
 * A child's exit, seen on the event loop: uv_poll on its pidfd (readable once it has
 * exited), then waitid(P_PIDFD) reaps exactly that child.
 */
#define _GNU_SOURCE
#include "exit-watch.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

struct cgb_watch {
  uv_poll_t poll; /* first: the handle's address is the watch's */
  struct cgb_instance *instance;
  struct cgb_watch *prev;
  struct cgb_watch *next;
  int pidfd;
  napi_ref on_exit;
  napi_async_context context;
};

struct cgb_instance {
  napi_env env;
  uv_loop_t *loop;
  struct cgb_watch *watches; /* live ones, for the teardown */
  napi_async_cleanup_hook_handle cleanup;
  int tearing_down;
  size_t closing; /* handles whose close callback has not run yet */
  size_t pending; /* async spawns not completed yet */
};

static void unlink_watch(struct cgb_watch *watch) {
  struct cgb_instance *instance = watch->instance;
  if (watch->prev != NULL) watch->prev->next = watch->next;
  else instance->watches = watch->next;
  if (watch->next != NULL) watch->next->prev = watch->prev;
  watch->prev = watch->next = NULL;
}

static void finish_teardown_if_done(struct cgb_instance *instance) {
  if (!instance->tearing_down || instance->closing > 0 || instance->pending > 0) return;
  napi_remove_async_cleanup_hook(instance->cleanup);
  free(instance);
}

static napi_value int_or_null(napi_env env, int value) {
  napi_value result = NULL;
  if (value < 0) napi_get_null(env, &result);
  else napi_create_int32(env, value, &result);
  return result;
}

/* Runs the JavaScript callback as Node runs its own: in the spawn's async context,
 * microtasks drained after it, a throw reported as an uncaught exception. */
static void call_on_exit(struct cgb_watch *watch, int code, int signo) {
  napi_env env = watch->instance->env;
  napi_handle_scope scope = NULL;
  napi_value on_exit = NULL, receiver = NULL, result = NULL;
  napi_open_handle_scope(env, &scope);
  napi_get_reference_value(env, watch->on_exit, &on_exit);
  /* Node's MakeCallback wants an object for `this`. */
  napi_get_global(env, &receiver);
  napi_value args[2] = {int_or_null(env, code), int_or_null(env, signo)};
  if (napi_make_callback(env, watch->context, receiver, on_exit, 2, args, &result) == napi_pending_exception) {
    napi_value error = NULL;
    napi_get_and_clear_last_exception(env, &error);
    napi_fatal_exception(env, error);
  }
  napi_close_handle_scope(env, scope);
  napi_delete_reference(env, watch->on_exit);
  napi_async_destroy(env, watch->context);
}

static void on_closed(uv_handle_t *handle) {
  struct cgb_watch *watch = (struct cgb_watch *)handle;
  struct cgb_instance *instance = watch->instance;
  int code, signo;
  /* At teardown the child may still run: at least do not leave a zombie if it has ended. */
  if (instance->tearing_down) cgb_reap(watch->pidfd, &code, &signo);
  close(watch->pidfd);
  free(watch);
  instance->closing--;
  finish_teardown_if_done(instance);
}

static void close_watch(struct cgb_watch *watch) {
  unlink_watch(watch);
  uv_poll_stop(&watch->poll);
  watch->instance->closing++;
  uv_close((uv_handle_t *)&watch->poll, on_closed);
}

static void on_readable(uv_poll_t *poll, int status, int events) {
  (void)status;
  (void)events;
  struct cgb_watch *watch = (struct cgb_watch *)poll;
  int code = -1, signo = -1;
  int reaped = cgb_reap(watch->pidfd, &code, &signo);
  /* 0: not exited yet (a spurious wake-up). Negative (ECHILD): another waiter took
   * the status, which only a waitpid(-1) elsewhere in the process can do. */
  if (reaped == 0) return;
  close_watch(watch);
  call_on_exit(watch, code, signo);
}

int cgb_watch_start(napi_env env, struct cgb_instance *instance, const struct cgb_child *child, napi_value on_exit) {
  struct cgb_watch *watch = calloc(1, sizeof *watch);
  napi_value resource = NULL, name = NULL;
  if (watch == NULL) {
    napi_throw_error(env, "ENOMEM", "out of memory");
    return -1;
  }
  int error = uv_poll_init(instance->loop, &watch->poll, child->pidfd);
  if (error != 0) {
    free(watch);
    napi_throw_error(env, uv_err_name(error), "uv_poll_init on the pidfd failed");
    return -1;
  }
  /* From here on the handle belongs to the loop: freed in on_closed only. */
  watch->instance = instance;
  watch->pidfd = child->pidfd;
  napi_create_object(env, &resource);
  napi_create_string_utf8(env, "cgibridge:native-exit", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, resource, name, &watch->context);
  napi_create_reference(env, on_exit, 1, &watch->on_exit);
  watch->next = instance->watches;
  if (watch->next != NULL) watch->next->prev = watch;
  instance->watches = watch;
  uv_poll_start(&watch->poll, UV_READABLE, on_readable);
  return 0;
}

void cgb_abandon_child(const struct cgb_child *child) {
  siginfo_t info;
  kill(-child->pid, SIGKILL);
  while (waitid((idtype_t)P_PIDFD, (id_t)child->pidfd, &info, WEXITED) < 0 && errno == EINTR) {
  }
  close(child->pidfd);
  for (int i = 0; i < 3; i++) close(child->fds[i]);
}

/*
 * The environment is going away (worker exit, process exit): stop watching. The
 * children run on; the JavaScript that waited for them is gone with the environment.
 */
static void on_teardown(napi_async_cleanup_hook_handle handle, void *data) {
  struct cgb_instance *instance = data;
  (void)handle;
  instance->tearing_down = 1;
  while (instance->watches != NULL) {
    struct cgb_watch *watch = instance->watches;
    /* No JavaScript any more: the references go with the environment. */
    close_watch(watch);
  }
  finish_teardown_if_done(instance);
}

struct cgb_instance *cgb_instance_create(napi_env env) {
  struct cgb_instance *instance = calloc(1, sizeof *instance);
  if (instance == NULL) {
    napi_throw_error(env, "ENOMEM", "out of memory");
    return NULL;
  }
  instance->env = env;
  if (napi_get_uv_event_loop(env, &instance->loop) != napi_ok ||
      napi_add_async_cleanup_hook(env, on_teardown, instance, &instance->cleanup) != napi_ok) {
    free(instance);
    napi_throw_error(env, NULL, "cannot attach to the event loop");
    return NULL;
  }
  return instance;
}

void cgb_instance_hold(struct cgb_instance *instance) { instance->pending++; }

int cgb_instance_release(struct cgb_instance *instance) {
  int dying = instance->tearing_down;
  instance->pending--;
  finish_teardown_if_done(instance);
  return dying;
}
