/*
 * A stand-in for the Nitro Secure Module device, for tests on machines without one. Loaded with LD_PRELOAD into a
 * `blindbox serve` process, it makes open("/dev/nsm") connect to the UNIX socket named by BLINDBOX_TEST_NSM_SOCKET
 * (a test NSM in Node), and ioctl(fd, NSM_IOCTL_RAW, …) on that descriptor send the raw request bytes there and copy
 * the raw answer back with the kernel driver's rules (drivers/misc/nsm.c): a request over 4 KiB is EMSGSIZE, a device
 * answer over 12 KiB is EMSGSIZE, and an answer longer than the caller's buffer is cut to it, response.len saying how
 * much was written. Everything else passes straight to libc. Without the variable the library changes nothing.
 *
 * Wire format to the test NSM, both ways big-endian: request = u32 length, bytes; answer = u32 errno (0: success),
 * u32 length, bytes.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../../src/server/attestation/nsm/native/nsm-uapi.h"

#define DEVICE "/dev/nsm"
/* Longest answer the stand-in reads (and drops, when over the driver's limit) before calling the link broken. */
#define MAX_WIRE_ANSWER (1u << 20)

static const char *stand_in_path(void) { return getenv("BLINDBOX_TEST_NSM_SOCKET"); }

static int names_device(const char *path) { return path != NULL && strcmp(path, DEVICE) == 0 && stand_in_path() != NULL; }

static int connect_stand_in(void) {
  const char *path = stand_in_path();
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof addr.sun_path) {
    errno = ENAMETOOLONG;
    return -1;
  }
  strcpy(addr.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
    int err = errno;
    close(fd);
    errno = err;
    return -1;
  }
  return fd;
}

typedef int (*open_fn)(const char *, int, ...);
typedef int (*openat_fn)(int, const char *, int, ...);
typedef int (*ioctl_fn)(int, unsigned long, ...);

static mode_t mode_of(int flags, va_list ap) { return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? va_arg(ap, mode_t) : 0; }

#define OPEN_WRAPPER(name)                                                                                             \
  int name(const char *path, int flags, ...) {                                                                         \
    va_list ap;                                                                                                        \
    va_start(ap, flags);                                                                                               \
    mode_t mode = mode_of(flags, ap);                                                                                  \
    va_end(ap);                                                                                                        \
    if (names_device(path)) return connect_stand_in();                                                                 \
    return ((open_fn)dlsym(RTLD_NEXT, #name))(path, flags, mode);                                                      \
  }

#define OPENAT_WRAPPER(name)                                                                                           \
  int name(int dirfd, const char *path, int flags, ...) {                                                              \
    va_list ap;                                                                                                        \
    va_start(ap, flags);                                                                                               \
    mode_t mode = mode_of(flags, ap);                                                                                  \
    va_end(ap);                                                                                                        \
    if (names_device(path)) return connect_stand_in();                                                                 \
    return ((openat_fn)dlsym(RTLD_NEXT, #name))(dirfd, path, flags, mode);                                             \
  }

OPEN_WRAPPER(open)
OPEN_WRAPPER(open64)
OPENAT_WRAPPER(openat)
OPENAT_WRAPPER(openat64)

/* Whether fd is a connection to the test NSM: its peer is the socket the variable names. */
static int is_stand_in(int fd) {
  struct sockaddr_un peer;
  socklen_t len = sizeof peer;
  const char *path = stand_in_path();
  if (path == NULL || getpeername(fd, (struct sockaddr *)&peer, &len) < 0 || peer.sun_family != AF_UNIX) return 0;
  return strncmp(peer.sun_path, path, sizeof peer.sun_path) == 0;
}

static int write_all(int fd, const void *data, size_t len) {
  const uint8_t *p = data;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

static int read_all(int fd, void *data, size_t len) {
  uint8_t *p = data;
  while (len > 0) {
    ssize_t n = read(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

static uint32_t be32(const uint8_t b[4]) { return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]; }

static int fail(int err) {
  errno = err;
  return -1;
}

/* The driver serves one message at a time (a mutex); so must the single stream each stand-in descriptor is, or two
 * threads' ioctls (the addon runs them on libuv's pool) would interleave their frames. */
static pthread_mutex_t wire = PTHREAD_MUTEX_INITIALIZER;

static int forward_locked(int fd, struct nsm_raw *raw);

static int forward(int fd, struct nsm_raw *raw) {
  pthread_mutex_lock(&wire);
  int rc = forward_locked(fd, raw);
  int err = errno;
  pthread_mutex_unlock(&wire);
  errno = err;
  return rc;
}

static int forward_locked(int fd, struct nsm_raw *raw) {
  if (raw->request.len > NSM_REQUEST_MAX_SIZE || raw->response.len > NSM_RESPONSE_MAX_SIZE) return fail(EMSGSIZE);
  uint32_t len = (uint32_t)raw->request.len;
  uint8_t header[8] = {len >> 24, len >> 16, len >> 8, len};
  if (write_all(fd, header, 4) < 0 || write_all(fd, (const void *)(uintptr_t)raw->request.addr, len) < 0) return fail(EIO);
  if (read_all(fd, header, 8) < 0) return fail(EIO);
  uint32_t err = be32(header), answer_len = be32(header + 4);
  if (answer_len > MAX_WIRE_ANSWER) return fail(EIO);
  uint8_t *answer = malloc(answer_len ? answer_len : 1);
  if (answer == NULL) return fail(ENOMEM);
  if (read_all(fd, answer, answer_len) < 0) {
    free(answer);
    return fail(EIO);
  }
  if (err == 0 && answer_len > NSM_RESPONSE_MAX_SIZE) err = EMSGSIZE;
  if (err == 0) {
    size_t copied = answer_len < raw->response.len ? answer_len : raw->response.len;
    memcpy((void *)(uintptr_t)raw->response.addr, answer, copied);
    raw->response.len = copied;
  }
  free(answer);
  return err == 0 ? 0 : fail((int)err);
}

int ioctl(int fd, unsigned long request, ...) {
  va_list ap;
  va_start(ap, request);
  void *arg = va_arg(ap, void *);
  va_end(ap);
  if (request == NSM_IOCTL_RAW && is_stand_in(fd)) return forward(fd, arg);
  return ((ioctl_fn)dlsym(RTLD_NEXT, "ioctl"))(fd, request, arg);
}
