/*
 * The JavaScript spawn request, copied into C memory the child can use without allocating.
 */
#ifndef CGB_REQUEST_H
#define CGB_REQUEST_H

#include <node_api.h>

#include "spawn.h"

/*
 * Reads { file, argv, env, cwd, rlimits?, uid?, gid?, pipeSize? } into a new request,
 * including the PATH lookup's candidates. On bad input throws a TypeError or
 * RangeError and returns NULL.
 */
struct cgb_request *cgb_request_from_js(napi_env env, napi_value object);

void cgb_request_free(struct cgb_request *req);

#endif
