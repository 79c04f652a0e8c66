/*
 * The N-API surface: probe(), spawn(request, onExit), spawnAsync(request, onExit).
 * Only N-API (version 8) and libuv's stable C API, so one build loads on Node 20, 22, 24.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "exit-watch.h"
#include "request.h"
#include "spawn.h"

/* The errno's name, as libuv names it; libuv has no name for a few that execve gives. */
static void errno_name(int error, char *name, size_t size) {
  switch (error) {
    case ENOEXEC:
      snprintf(name, size, "ENOEXEC");
      return;
    case ELIBBAD:
      snprintf(name, size, "ELIBBAD");
      return;
    case ESTALE:
      snprintf(name, size, "ESTALE");
      return;
    default:
      uv_err_name_r(-error, name, size);
  }
}

/* Node's errno error: code "ENOENT", errno -2, syscall, path; message "execve /x ENOENT". */
static napi_value errno_error(napi_env env, int error, const char *syscall, const char *path) {
  char code[64], message[512];
  errno_name(error, code, sizeof code);
  snprintf(message, sizeof message, "%s %s %s", syscall, path, code);
  napi_value code_value = NULL, message_value = NULL, result = NULL, value = NULL;
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &code_value);
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &message_value);
  napi_create_error(env, code_value, message_value, &result);
  napi_create_int32(env, -error, &value);
  napi_set_named_property(env, result, "errno", value);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &value);
  napi_set_named_property(env, result, "syscall", value);
  napi_create_string_utf8(env, path, NAPI_AUTO_LENGTH, &value);
  napi_set_named_property(env, result, "path", value);
  return result;
}

/* The path a failure is about: the directory for chdir, else the program. */
static napi_value failure_error(napi_env env, const struct cgb_request *req, const struct cgb_failure *failure) {
  const char *path = strcmp(failure->syscall, "chdir") == 0 ? req->cwd : req->file;
  return errno_error(env, failure->error, failure->syscall, path);
}

static void set_int(napi_env env, napi_value object, const char *name, int value) {
  napi_value number = NULL;
  napi_create_int32(env, value, &number);
  napi_set_named_property(env, object, name, number);
}

/* { pid, stdin, stdout, stderr }: the fds are the parent's ends, now the caller's. */
static napi_value child_result(napi_env env, const struct cgb_child *child) {
  napi_value result = NULL;
  napi_create_object(env, &result);
  set_int(env, result, "pid", child->pid);
  set_int(env, result, "stdin", child->fds[0]);
  set_int(env, result, "stdout", child->fds[1]);
  set_int(env, result, "stderr", child->fds[2]);
  return result;
}

/* Two arguments, the second a function; NULL (a TypeError thrown) otherwise. */
static struct cgb_instance *read_args(napi_env env, napi_callback_info info, napi_value args[2]) {
  size_t argc = 2;
  void *data = NULL;
  napi_valuetype type = napi_undefined;
  napi_get_cb_info(env, info, &argc, args, NULL, &data);
  if (argc >= 2) napi_typeof(env, args[1], &type);
  if (type != napi_function) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "onExit must be a function");
    return NULL;
  }
  return data;
}

/* Hands the started child to the exit watch and returns its description. */
static napi_value adopt_child(napi_env env, struct cgb_instance *instance, const struct cgb_child *child,
                              napi_value on_exit) {
  if (cgb_watch_start(env, instance, child, on_exit) != 0) {
    cgb_abandon_child(child);
    return NULL;
  }
  return child_result(env, child);
}

/* spawn(request, onExit): starts on the calling (main) thread. */
static napi_value js_spawn(napi_env env, napi_callback_info info) {
  napi_value args[2] = {NULL, NULL};
  struct cgb_instance *instance = read_args(env, info, args);
  if (instance == NULL) return NULL;
  struct cgb_request *req = cgb_request_from_js(env, args[0]);
  if (req == NULL) return NULL;
  struct cgb_child child;
  struct cgb_failure failure = {0, NULL};
  int started = cgb_spawn(req, 0, &child, &failure) == 0;
  if (!started) napi_throw(env, failure_error(env, req, &failure));
  cgb_request_free(req);
  return started ? adopt_child(env, instance, &child, args[1]) : NULL;
}

/* One spawnAsync call, from the JavaScript thread to the pool and back. */
struct spawn_job {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref on_exit;
  struct cgb_instance *instance;
  struct cgb_request *req;
  struct cgb_child child;
  struct cgb_failure failure;
  int started;
};

static void job_execute(napi_env env, void *data) {
  (void)env;
  struct spawn_job *job = data;
  /* A pool thread: it keeps its child stack. */
  job->started = cgb_spawn(job->req, 1, &job->child, &job->failure) == 0;
}

static void job_settle(napi_env env, struct spawn_job *job) {
  napi_value on_exit = NULL, result = NULL, error = NULL;
  if (!job->started) {
    napi_reject_deferred(env, job->deferred, failure_error(env, job->req, &job->failure));
    return;
  }
  napi_get_reference_value(env, job->on_exit, &on_exit);
  result = adopt_child(env, job->instance, &job->child, on_exit);
  if (result != NULL) {
    napi_resolve_deferred(env, job->deferred, result);
    return;
  }
  napi_get_and_clear_last_exception(env, &error);
  napi_reject_deferred(env, job->deferred, error);
}

static void job_complete(napi_env env, napi_status status, void *data) {
  struct spawn_job *job = data;
  if (cgb_instance_release(job->instance) || status != napi_ok) {
    /* The environment is going away: nobody is left to watch the child. */
    if (job->started) cgb_abandon_child(&job->child);
  } else {
    job_settle(env, job);
    napi_delete_reference(env, job->on_exit);
  }
  napi_delete_async_work(env, job->work);
  cgb_request_free(job->req);
  free(job);
}

/* spawnAsync(request, onExit): the clone and exec on libuv's thread pool; a promise. */
static napi_value js_spawn_async(napi_env env, napi_callback_info info) {
  napi_value args[2] = {NULL, NULL}, promise = NULL, name = NULL;
  struct cgb_instance *instance = read_args(env, info, args);
  if (instance == NULL) return NULL;
  struct spawn_job *job = calloc(1, sizeof *job);
  if (job == NULL) {
    napi_throw_error(env, "ENOMEM", "out of memory");
    return NULL;
  }
  if ((job->req = cgb_request_from_js(env, args[0])) == NULL) {
    free(job);
    return NULL;
  }
  job->instance = instance;
  napi_create_reference(env, args[1], 1, &job->on_exit);
  napi_create_promise(env, &job->deferred, &promise);
  napi_create_string_utf8(env, "cgibridge:native-spawn", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, job_execute, job_complete, job, &job->work);
  cgb_instance_hold(instance);
  napi_queue_async_work(env, job->work);
  return promise;
}

/* probe(): null when this system can spawn, else { errno, syscall } of what failed. */
static napi_value js_probe(napi_env env, napi_callback_info info) {
  (void)info;
  struct cgb_failure failure = {0, NULL};
  napi_value result = NULL, value = NULL;
  if (cgb_probe(&failure) == 0) {
    napi_get_null(env, &result);
    return result;
  }
  napi_create_object(env, &result);
  napi_create_int32(env, failure.error, &value);
  napi_set_named_property(env, result, "errno", value);
  napi_create_string_utf8(env, failure.syscall, NAPI_AUTO_LENGTH, &value);
  napi_set_named_property(env, result, "syscall", value);
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  struct cgb_instance *instance = cgb_instance_create(env);
  if (instance == NULL) return NULL;
  const napi_property_descriptor properties[] = {
      {"probe", NULL, js_probe, NULL, NULL, NULL, napi_enumerable, NULL},
      {"spawn", NULL, js_spawn, NULL, NULL, NULL, napi_enumerable, instance},
      {"spawnAsync", NULL, js_spawn_async, NULL, NULL, NULL, napi_enumerable, instance},
  };
  napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
