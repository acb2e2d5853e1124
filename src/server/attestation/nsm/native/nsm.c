/*
 * The NSM device as a Node-API addon: open /dev/nsm, send one raw CBOR request per NSM_IOCTL_RAW, close. The
 * messages themselves are encoded and decoded in TypeScript; this file only moves bytes across the ioctl, off the
 * event loop (an attestation takes the device milliseconds).
 */
#define _GNU_SOURCE /* strerrorname_np */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <node_api.h>

#include "nsm-uapi.h"

#define CHECK(env, call)                                                                                               \
  do {                                                                                                                 \
    if ((call) != napi_ok) {                                                                                           \
      napi_throw_error((env), NULL, "nsm addon: " #call " failed");                                                    \
      return NULL;                                                                                                     \
    }                                                                                                                  \
  } while (0)

/* An Error whose `code` is the errno's name (ENOENT, EMSGSIZE…), which the TypeScript side maps to NsmError. */
static napi_value error_for_errno(napi_env env, int err, const char *what) {
  char text[4400]; /* a path of up to 4095 bytes and the message */
  const char *name = strerrorname_np(err);
  napi_value code, message, error;
  snprintf(text, sizeof text, "%s: %s", what, strerror(err));
  napi_create_string_utf8(env, name ? name : "EIO", NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, code, message, &error);
  return error;
}

static napi_value throw_errno(napi_env env, int err, const char *what) {
  napi_throw(env, error_for_errno(env, err, what));
  return NULL;
}

/* open(path: string): number — the device's descriptor, read-write and close-on-exec. */
static napi_value nsm_open(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  char path[4096];
  size_t len;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len) != napi_ok || len >= sizeof path - 1) {
    napi_throw_type_error(env, NULL, "open(path): path must be a string");
    return NULL;
  }
  int fd = open(path, O_RDWR | O_CLOEXEC);
  if (fd < 0) return throw_errno(env, errno, path);
  napi_value result;
  CHECK(env, napi_create_int32(env, fd, &result));
  return result;
}

/* close(fd: number): void */
static napi_value nsm_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok) {
    napi_throw_type_error(env, NULL, "close(fd): fd must be a number");
    return NULL;
  }
  if (close(fd) < 0) return throw_errno(env, errno, "close");
  return NULL;
}

/* One NSM_IOCTL_RAW in flight: the request copied out of JS memory, the response buffer the driver fills. */
typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  int fd;
  uint8_t request[NSM_REQUEST_MAX_SIZE];
  size_t request_len;
  uint8_t response[NSM_RESPONSE_MAX_SIZE];
  size_t response_len;
  int err;
} raw_call;

static void raw_execute(napi_env env, void *data) {
  (void)env;
  raw_call *call = data;
  struct nsm_raw raw = {
    .request = {.addr = (__u64)(uintptr_t)call->request, .len = call->request_len},
    .response = {.addr = (__u64)(uintptr_t)call->response, .len = sizeof call->response},
  };
  int rc;
  do rc = ioctl(call->fd, NSM_IOCTL_RAW, &raw);
  while (rc < 0 && errno == EINTR);
  if (rc < 0) {
    call->err = errno;
  } else if (raw.response.len > sizeof call->response) {
    call->err = EMSGSIZE; /* a driver must never claim more than the buffer it was given */
  } else {
    call->err = 0;
    call->response_len = raw.response.len;
  }
}

static void raw_complete(napi_env env, napi_status status, void *data) {
  raw_call *call = data;
  napi_value result;
  if (status != napi_ok) {
    napi_value message;
    napi_create_string_utf8(env, "nsm addon: the ioctl was cancelled", NAPI_AUTO_LENGTH, &message);
    napi_create_error(env, NULL, message, &result);
    napi_reject_deferred(env, call->deferred, result);
  } else if (call->err != 0) {
    napi_reject_deferred(env, call->deferred, error_for_errno(env, call->err, "NSM_IOCTL_RAW"));
  } else if (napi_create_buffer_copy(env, call->response_len, call->response, NULL, &result) == napi_ok) {
    napi_resolve_deferred(env, call->deferred, result);
  } else {
    napi_reject_deferred(env, call->deferred, error_for_errno(env, ENOMEM, "NSM response buffer"));
  }
  napi_delete_async_work(env, call->work);
  free(call);
}

/* raw(fd: number, request: Uint8Array): Promise<Buffer> — the response bytes the device wrote. */
static napi_value nsm_raw(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t fd;
  bool is_typed;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || napi_is_typedarray(env, argv[1], &is_typed) != napi_ok || !is_typed) {
    napi_throw_type_error(env, NULL, "raw(fd, request): fd must be a number and request a Uint8Array");
    return NULL;
  }
  napi_typedarray_type type;
  size_t length;
  void *bytes;
  CHECK(env, napi_get_typedarray_info(env, argv[1], &type, &length, &bytes, NULL, NULL));
  if (type != napi_uint8_array) {
    napi_throw_type_error(env, NULL, "raw(fd, request): request must be a Uint8Array");
    return NULL;
  }
  if (length > NSM_REQUEST_MAX_SIZE) {
    napi_throw_range_error(env, "EMSGSIZE", "an NSM request is at most 4096 bytes");
    return NULL;
  }
  raw_call *call = calloc(1, sizeof *call);
  if (!call) return throw_errno(env, ENOMEM, "raw");
  call->fd = fd;
  call->request_len = length;
  memcpy(call->request, bytes, length);
  napi_value promise, name;
  if (napi_create_promise(env, &call->deferred, &promise) != napi_ok ||
      napi_create_string_utf8(env, "nsm_ioctl_raw", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, raw_execute, raw_complete, call, &call->work) != napi_ok ||
      napi_queue_async_work(env, call->work) != napi_ok) {
    free(call);
    napi_throw_error(env, NULL, "nsm addon: cannot queue the ioctl");
    return NULL;
  }
  return promise;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"open", NULL, nsm_open, NULL, NULL, NULL, napi_enumerable, NULL},
    {"raw", NULL, nsm_raw, NULL, NULL, NULL, napi_enumerable, NULL},
    {"close", NULL, nsm_close, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CHECK(env, napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  napi_value max_request, max_response;
  CHECK(env, napi_create_uint32(env, NSM_REQUEST_MAX_SIZE, &max_request));
  CHECK(env, napi_create_uint32(env, NSM_RESPONSE_MAX_SIZE, &max_response));
  CHECK(env, napi_set_named_property(env, exports, "REQUEST_MAX_SIZE", max_request));
  CHECK(env, napi_set_named_property(env, exports, "RESPONSE_MAX_SIZE", max_response));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
