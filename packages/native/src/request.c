/*
 * From a JavaScript request object to a struct cgb_request. Everything is copied:
 * the async variant uses the request on another thread, after the call returned.
 */
#define _GNU_SOURCE
#include "request.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

/* glibc's execvp default when the environment has no PATH (what Node's spawn gets on Linux). */
#define DEFAULT_PATH "/bin:/usr/bin"

static void free_vector(char **vector) {
  if (vector == NULL) return;
  for (char **item = vector; *item != NULL; item++) free(*item);
  free(vector);
}

void cgb_request_free(struct cgb_request *req) {
  if (req == NULL) return;
  free(req->file);
  free(req->cwd);
  free_vector(req->candidates);
  free_vector(req->argv);
  free_vector(req->envp);
  free(req);
}

static napi_value get_property(napi_env env, napi_value object, const char *name) {
  napi_value value = NULL;
  napi_get_named_property(env, object, name, &value);
  return value;
}

static int is_missing(napi_env env, napi_value value) {
  napi_valuetype type = napi_undefined;
  if (value != NULL) napi_typeof(env, value, &type);
  return type == napi_undefined || type == napi_null;
}

static void throw_invalid(napi_env env, const char *code, const char *name, const char *problem) {
  char message[128];
  snprintf(message, sizeof message, "request.%s %s", name, problem);
  napi_throw_type_error(env, code, message);
}

/* A JavaScript string as a new C string; NULL (and a TypeError thrown) for a
 * non-string or one with a NUL byte, which C would silently cut short. */
static char *copy_string(napi_env env, napi_value value, const char *name) {
  size_t length = 0;
  if (value == NULL || napi_get_value_string_utf8(env, value, NULL, 0, &length) != napi_ok) {
    throw_invalid(env, "ERR_INVALID_ARG_TYPE", name, "must be a string");
    return NULL;
  }
  char *copy = malloc(length + 1);
  if (copy == NULL) {
    napi_throw_error(env, "ENOMEM", "out of memory");
    return NULL;
  }
  napi_get_value_string_utf8(env, value, copy, length + 1, &length);
  if (strlen(copy) != length) {
    free(copy);
    throw_invalid(env, "ERR_INVALID_ARG_VALUE", name, "must not contain null bytes");
    return NULL;
  }
  return copy;
}

/* A JavaScript array of strings as a NULL-terminated vector. */
static char **copy_string_array(napi_env env, napi_value value, const char *name) {
  bool is_array = false;
  uint32_t length = 0;
  if (value == NULL || napi_is_array(env, value, &is_array) != napi_ok || !is_array) {
    throw_invalid(env, "ERR_INVALID_ARG_TYPE", name, "must be an array of strings");
    return NULL;
  }
  napi_get_array_length(env, value, &length);
  char **vector = calloc((size_t)length + 1, sizeof(char *));
  if (vector == NULL) {
    napi_throw_error(env, "ENOMEM", "out of memory");
    return NULL;
  }
  for (uint32_t i = 0; i < length; i++) {
    napi_value item = NULL;
    char item_name[48];
    snprintf(item_name, sizeof item_name, "%s[%u]", name, i);
    napi_get_element(env, value, i, &item);
    vector[i] = copy_string(env, item, item_name);
    if (vector[i] == NULL) {
      free_vector(vector);
      return NULL;
    }
  }
  return vector;
}

/* The value of the first "PATH=" entry, as the child's getenv would see it. */
static const char *find_path(char **envp) {
  for (char **entry = envp; *entry != NULL; entry++) {
    if (strncmp(*entry, "PATH=", 5) == 0) return *entry + 5;
  }
  return DEFAULT_PATH;
}

/* Joins a PATH entry and the file; an empty entry means the working directory. */
static char *join_candidate(const char *dir, size_t dir_length, const char *file) {
  size_t file_length = strlen(file);
  char *candidate = malloc(dir_length + 1 + file_length + 1);
  if (candidate == NULL) return NULL;
  if (dir_length == 0) {
    memcpy(candidate, file, file_length + 1);
  } else {
    memcpy(candidate, dir, dir_length);
    candidate[dir_length] = '/';
    memcpy(candidate + dir_length + 1, file, file_length + 1);
  }
  return candidate;
}

/*
 * The paths execve tries, in order: the file itself when it names a path (has a
 * slash), else one per entry of the child's PATH. An empty file has none (ENOENT).
 */
static char **build_candidates(const char *file, char **envp) {
  if (file[0] == '\0') return calloc(1, sizeof(char *));
  if (strchr(file, '/') != NULL) {
    char **single = calloc(2, sizeof(char *));
    if (single != NULL && (single[0] = strdup(file)) == NULL) {
      free(single);
      return NULL;
    }
    return single;
  }
  const char *path = find_path(envp);
  size_t count = 1;
  for (const char *c = path; *c != '\0'; c++) count += *c == ':';
  char **candidates = calloc(count + 1, sizeof(char *));
  if (candidates == NULL) return NULL;
  const char *start = path;
  for (size_t i = 0; i < count; i++) {
    const char *end = strchrnul(start, ':');
    candidates[i] = join_candidate(start, (size_t)(end - start), file);
    if (candidates[i] == NULL) {
      free_vector(candidates);
      return NULL;
    }
    start = *end == ':' ? end + 1 : end;
  }
  return candidates;
}

/* A non-negative integer, or -1 (and a RangeError thrown). Infinity means no limit. */
static int read_count(napi_env env, napi_value value, const char *what, uint64_t *out) {
  double number = 0;
  if (napi_get_value_double(env, value, &number) != napi_ok || number < 0 || isnan(number) ||
      (isfinite(number) && number != floor(number))) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", what);
    return -1;
  }
  *out = isfinite(number) && number < 18446744073709551616.0 ? (uint64_t)number : (uint64_t)RLIM_INFINITY;
  return 0;
}

static int read_limits(napi_env env, napi_value object, struct cgb_request *req) {
  static const struct {
    const char *name;
    int resource;
    const char *what;
  } known[] = {
      {"cpu", RLIMIT_CPU, "request.rlimits.cpu must be a non-negative integer (seconds)"},
      {"as", RLIMIT_AS, "request.rlimits.as must be a non-negative integer (bytes)"},
      {"nproc", RLIMIT_NPROC, "request.rlimits.nproc must be a non-negative integer"},
  };
  napi_value limits = get_property(env, object, "rlimits");
  if (is_missing(env, limits)) return 0;
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
    napi_value value = get_property(env, limits, known[i].name);
    if (is_missing(env, value)) continue;
    struct cgb_limit *limit = &req->limits[req->limit_count];
    if (read_count(env, value, known[i].what, &limit->value) != 0) return -1;
    limit->resource = known[i].resource;
    req->limit_count++;
  }
  return 0;
}

/* uid, gid, pipeSize and stdoutPipeSize: optional non-negative integers. */
static int read_optional_id(napi_env env, napi_value object, const char *name, int *set, uint64_t *out) {
  napi_value value = get_property(env, object, name);
  char message[96];
  snprintf(message, sizeof message, "request.%s must be a non-negative integer below 2^32 - 1", name);
  *set = !is_missing(env, value);
  if (!*set) return 0;
  if (read_count(env, value, message, out) != 0) return -1;
  if (*out > 0xfffffffeu) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", message);
    return -1;
  }
  return 0;
}

/* F_SETPIPE_SZ takes an int; the kernel rounds up to a power of two of pages. */
static int pipe_bytes(uint64_t bytes) {
  return (int)(bytes > 0x40000000u ? 0x40000000u : bytes);
}

static int read_credentials_and_pipes(napi_env env, napi_value object, struct cgb_request *req) {
  uint64_t uid = 0, gid = 0, pipe_size = 0, stdout_pipe_size = 0;
  int set_pipe_size = 0, set_stdout_pipe_size = 0;
  if (read_optional_id(env, object, "uid", &req->set_uid, &uid) != 0 ||
      read_optional_id(env, object, "gid", &req->set_gid, &gid) != 0 ||
      read_optional_id(env, object, "pipeSize", &set_pipe_size, &pipe_size) != 0 ||
      read_optional_id(env, object, "stdoutPipeSize", &set_stdout_pipe_size, &stdout_pipe_size) != 0) {
    return -1;
  }
  req->uid = (uid_t)uid;
  req->gid = (gid_t)gid;
  /* Left unset, a size stays 0: the kernel's default. */
  req->pipe_size = pipe_bytes(pipe_size);
  req->stdout_pipe_size = pipe_bytes(stdout_pipe_size);
  return 0;
}

struct cgb_request *cgb_request_from_js(napi_env env, napi_value object) {
  napi_valuetype type = napi_undefined;
  napi_typeof(env, object, &type);
  if (type != napi_object) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "request must be an object");
    return NULL;
  }
  struct cgb_request *req = calloc(1, sizeof *req);
  if (req == NULL) {
    napi_throw_error(env, "ENOMEM", "out of memory");
    return NULL;
  }
  if ((req->file = copy_string(env, get_property(env, object, "file"), "file")) == NULL ||
      (req->argv = copy_string_array(env, get_property(env, object, "argv"), "argv")) == NULL ||
      (req->envp = copy_string_array(env, get_property(env, object, "env"), "env")) == NULL ||
      (req->cwd = copy_string(env, get_property(env, object, "cwd"), "cwd")) == NULL ||
      read_limits(env, object, req) != 0 || read_credentials_and_pipes(env, object, req) != 0) {
    cgb_request_free(req);
    return NULL;
  }
  if ((req->candidates = build_candidates(req->file, req->envp)) == NULL) {
    cgb_request_free(req);
    napi_throw_error(env, "ENOMEM", "out of memory");
    return NULL;
  }
  return req;
}
