#ifndef TWIN_CKERNELKEYRING_H
#define TWIN_CKERNELKEYRING_H

#include <stddef.h>

// Linux's kernel key retention service (keyrings(7)), which glibc wraps only in libkeyutils: a
// "user" key in the calling user's keyring, readable by that user's processes, gone after a timeout
// or a reboot and never written to disk. Elsewhere, and where a sandbox refuses the system calls,
// every function fails with errno set (ENOSYS, EPERM…) and callers go without the cache.

/// Adds (or replaces) the key `description` with `length` bytes of `payload`, expiring after
/// `timeout_seconds`. Returns 0, or -1 with errno set.
int twin_kernel_key_store(const char *description, const void *payload, size_t length, unsigned timeout_seconds);

/// Copies the key `description` into `buffer`; returns its length (which may exceed `capacity`,
/// then nothing useful was copied), or -1 with errno set (ENOKEY when there is none).
long twin_kernel_key_read(const char *description, void *buffer, size_t capacity);

#endif
