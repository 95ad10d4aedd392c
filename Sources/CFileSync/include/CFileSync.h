#ifndef TWIN_CFILESYNC_H
#define TWIN_CFILESYNC_H

/// Flushes every dirty page and inode of the filesystem holding `descriptor` to stable storage, and
/// the device's write cache with them: Linux's syncfs(2), which glibc declares only under
/// _GNU_SOURCE (so Swift's Glibc module does not see it). Returns 0, or -1 with errno set; ENOSYS
/// where the call does not exist (not Linux).
int twin_sync_filesystem(int descriptor);

#endif
