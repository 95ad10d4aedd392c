#define _GNU_SOURCE
#include <errno.h>
#include <unistd.h>
#include "CFileSync.h"

int twin_sync_filesystem(int descriptor) {
#if defined(__linux__)
    return syncfs(descriptor);
#else
    (void)descriptor;
    errno = ENOSYS;
    return -1;
#endif
}
