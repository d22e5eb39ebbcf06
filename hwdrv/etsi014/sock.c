/*
 * The socket BIO under the driver's TLS connection. OpenSSL's own socket BIO writes with
 * write(2), which raises SIGPIPE when the KME has already closed (a KME that answers 401 before
 * reading the request, then resets): that kills a host process that does not ignore SIGPIPE,
 * and a library loaded into someone else's program must never do that nor change the process's
 * signal disposition. This BIO sends with MSG_NOSIGNAL, so the write fails with EPIPE instead.
 * OpenSSL has no flag for that on its socket BIO, hence this small method.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/bio.h>

#include "etsi014.h"

static BIO_METHOD *method;
static pthread_once_t method_once = PTHREAD_ONCE_INIT;

static int fd_of(BIO *b)
{
    return (int)(intptr_t)BIO_get_data(b);
}

static int retry_errno(int e)
{
    return e == EAGAIN || e == EWOULDBLOCK || e == EINTR || e == EINPROGRESS;
}

static int sock_write(BIO *b, const char *buf, int len)
{
    ssize_t n;

    BIO_clear_retry_flags(b);
    n = send(fd_of(b), buf, (size_t)len, MSG_NOSIGNAL);
    if (n < 0 && retry_errno(errno))
        BIO_set_retry_write(b);
    return (int)n;
}

static int sock_read(BIO *b, char *buf, int len)
{
    ssize_t n;

    BIO_clear_retry_flags(b);
    n = recv(fd_of(b), buf, (size_t)len, 0);
    if (n < 0 && retry_errno(errno))
        BIO_set_retry_read(b);
    return (int)n;
}

static long sock_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)num;
    switch (cmd) {
    case BIO_C_GET_FD:
        if (ptr != NULL)
            *(int *)ptr = fd_of(b);
        return fd_of(b);
    case BIO_CTRL_FLUSH:
        return 1;
    default:
        return 0;
    }
}

static int sock_puts(BIO *b, const char *s)
{
    return sock_write(b, s, (int)strlen(s));
}

static void make_method(void)
{
    int type = BIO_get_new_index();

    if (type == -1 || (method = BIO_meth_new(type | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR,
                                             "qkey etsi014 socket")) == NULL)
        return;
    if (!BIO_meth_set_write(method, sock_write) || !BIO_meth_set_read(method, sock_read) ||
        !BIO_meth_set_puts(method, sock_puts) || !BIO_meth_set_ctrl(method, sock_ctrl)) {
        BIO_meth_free(method);
        method = NULL;
    }
}

/* when the module holding this code is unloaded, or at exit */
__attribute__((destructor)) static void free_method(void)
{
    BIO_meth_free(method);
    method = NULL;
}

BIO *e14_bio_socket(int fd)
{
    BIO *b;

    if (pthread_once(&method_once, make_method) != 0 || method == NULL ||
        (b = BIO_new(method)) == NULL)
        return NULL;
    BIO_set_data(b, (void *)(intptr_t)fd);
    BIO_set_init(b, 1);
    return b;
}
