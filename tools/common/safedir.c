/*
 * Trust rules for tool directories (safedir.h). A directory another user made could hold files
 * they control: an openssl.cnf naming their module, which root then loads, or a key store that
 * receives root's QKD keys. So an init command only writes into a directory it made, or one
 * the invoking user owns and no one else can write; symbolic links are refused, not followed.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safedir.h"

static const char *owner_name(uid_t uid, char *buf, size_t len)
{
    struct passwd *pw = getpwuid(uid);

    if (pw != NULL)
        snprintf(buf, len, "%s (uid %u)", pw->pw_name, (unsigned)uid);
    else
        snprintf(buf, len, "uid %u", (unsigned)uid);
    return buf;
}

/* st: lstat of `what` (a directory, or a file when !is_dir). */
static int trusted(const char *what, const struct stat *st, int is_dir, char *err, size_t errlen)
{
    char who[96];

    if (S_ISLNK(st->st_mode)) {
        snprintf(err, errlen, "%s is a symbolic link: refusing to follow it", what);
        return 0;
    }
    if (is_dir ? !S_ISDIR(st->st_mode) : !S_ISREG(st->st_mode)) {
        snprintf(err, errlen, "%s is not a %s", what, is_dir ? "directory" : "regular file");
        return 0;
    }
    if (st->st_uid != geteuid()) {
        snprintf(err, errlen,
                 "%s belongs to %s, not to you: refusing to use what another user prepared "
                 "(remove it or choose another path)",
                 what, owner_name(st->st_uid, who, sizeof(who)));
        return 0;
    }
    if (is_dir && (st->st_mode & (S_IWGRP | S_IWOTH))) {
        snprintf(err, errlen,
                 "%s is writable by group or others (mode %03o): others could replace its "
                 "files; chmod go-w it or choose another directory",
                 what, (unsigned)(st->st_mode & 0777));
        return 0;
    }
    return 1;
}

/* The parent must not let others rename or replace `dir`: not writable by others, or sticky. */
static int parent_ok(const char *dir, char *err, size_t errlen)
{
    char copy[PATH_MAX], *parent;
    struct stat st;

    if (snprintf(copy, sizeof(copy), "%s", dir) >= (int)sizeof(copy)) {
        snprintf(err, errlen, "%s: path too long", dir);
        return 0;
    }
    parent = dirname(copy);
    if (stat(parent, &st) != 0) {
        snprintf(err, errlen, "%s: %s", parent, strerror(errno));
        return 0;
    }
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX) && st.st_uid != geteuid()) {
        snprintf(err, errlen,
                 "%s is writable by others and not sticky: they could swap %s; choose another "
                 "place",
                 parent, dir);
        return 0;
    }
    return 1;
}

int qsd_check_dir(const char *dir, char *err, size_t errlen)
{
    struct stat st;

    if (lstat(dir, &st) != 0) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return 0;
    }
    return trusted(dir, &st, 1, err, errlen) && parent_ok(dir, err, errlen);
}

int qsd_prepare_dir(const char *dir, mode_t mode, char *err, size_t errlen)
{
    if (!parent_ok(dir, err, errlen))
        return 0;
    if (mkdir(dir, mode) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
        return 0;
    }
    /* made now or before: the same checks either way (someone may have won a race to it) */
    return qsd_check_dir(dir, err, errlen);
}

int qsd_check_file(const char *path, char *err, size_t errlen)
{
    struct stat st;

    if (lstat(path, &st) != 0) {
        if (errno == ENOENT)
            return 1;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return 0;
    }
    return trusted(path, &st, 0, err, errlen);
}
