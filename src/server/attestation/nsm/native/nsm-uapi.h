/*
 * The Nitro Secure Module's Linux UAPI, as in include/uapi/linux/nsm.h (Linux 6.8). Spelled out here because the
 * build machine's linux-libc-dev may predate the header; the layout is the kernel's ABI and cannot change.
 */
#ifndef BLINDBOX_NSM_UAPI_H
#define BLINDBOX_NSM_UAPI_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define NSM_MAGIC 0x0A
#define NSM_REQUEST_MAX_SIZE 0x1000
#define NSM_RESPONSE_MAX_SIZE 0x3000

struct nsm_iovec {
  __u64 addr; /* virtual address of the buffer */
  __u64 len;  /* its length; the driver sets the response's to the bytes it wrote */
};

struct nsm_raw {
  struct nsm_iovec request;
  struct nsm_iovec response;
};

#define NSM_IOCTL_RAW _IOWR(NSM_MAGIC, 0x0, struct nsm_raw)

#endif
