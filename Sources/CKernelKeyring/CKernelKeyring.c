#define _GNU_SOURCE
#include <errno.h>
#include <unistd.h>
#include "CKernelKeyring.h"

#if defined(__linux__)
#include <sys/syscall.h>

// From linux/keyctl.h (not every system has the kernel headers installed).
enum {
    user_keyring = -4,          // KEY_SPEC_USER_KEYRING
    keyctl_setperm = 5,         // KEYCTL_SETPERM
    keyctl_search = 10,         // KEYCTL_SEARCH
    keyctl_read = 11,           // KEYCTL_READ
    keyctl_set_timeout = 15,    // KEYCTL_SET_TIMEOUT
};
// Possessor: everything; the user's other processes: view, read, search (KEY_POS_ALL | KEY_USR_VIEW
// | KEY_USR_READ | KEY_USR_SEARCH), so a process whose session keyring does not link the user
// keyring can still read it. Nobody else gets anything.
static const unsigned long permissions = 0x3f000000UL | 0x00010000UL | 0x00020000UL | 0x00080000UL;

int twin_kernel_key_store(const char *description, const void *payload, size_t length, unsigned timeout_seconds) {
    long key = syscall(SYS_add_key, "user", description, payload, length, (long)user_keyring);
    if (key < 0) return -1;
    if (syscall(SYS_keyctl, (long)keyctl_setperm, key, permissions) < 0
        || syscall(SYS_keyctl, (long)keyctl_set_timeout, key, (unsigned long)timeout_seconds) < 0) {
        int saved = errno;
        syscall(SYS_keyctl, 21L /* KEYCTL_INVALIDATE */, key);
        errno = saved;
        return -1;
    }
    return 0;
}

long twin_kernel_key_read(const char *description, void *buffer, size_t capacity) {
    long key = syscall(SYS_keyctl, (long)keyctl_search, (long)user_keyring, "user", description, 0L);
    if (key < 0) return -1;
    return syscall(SYS_keyctl, (long)keyctl_read, key, buffer, capacity);
}
#else
int twin_kernel_key_store(const char *description, const void *payload, size_t length, unsigned timeout_seconds) {
    (void)description; (void)payload; (void)length; (void)timeout_seconds;
    errno = ENOSYS;
    return -1;
}

long twin_kernel_key_read(const char *description, void *buffer, size_t capacity) {
    (void)description; (void)buffer; (void)capacity;
    errno = ENOSYS;
    return -1;
}
#endif
