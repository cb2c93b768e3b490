/* test_keyfile.c: keyfile.c, the one way hotcpu reads a configuration key,
 * and fd_io.c's whole write. */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "fd_io.h"
#include "keyfile.h"

static GKeyFile *
keyfile_of(const char *text)
{
    GKeyFile *kf = g_key_file_new();

    g_assert(g_key_file_load_from_data(kf, text, -1, G_KEY_FILE_NONE, NULL));
    return kf;
}

static void
test_bool(void)
{
    g_autoptr(GKeyFile) kf = keyfile_of("[a]\nyes=true\nno=false\nbad=maybe\n");
    g_autoptr(GError) error = NULL;
    gboolean v = TRUE;

    CU_ASSERT_EQUAL(keyfile_bool(kf, "a", "no", &v, NULL), KEYFILE_READ);
    CU_ASSERT_FALSE(v);
    CU_ASSERT_EQUAL(keyfile_bool(kf, "a", "yes", &v, NULL), KEYFILE_READ);
    CU_ASSERT_TRUE(v);
    /* absent key, absent group: untouched */
    v = FALSE;
    CU_ASSERT_EQUAL(keyfile_bool(kf, "a", "missing", &v, NULL), KEYFILE_ABSENT);
    CU_ASSERT_EQUAL(keyfile_bool(kf, "b", "yes", &v, NULL), KEYFILE_ABSENT);
    CU_ASSERT_FALSE(v);
    /* present but not a boolean: untouched, GKeyFile's words */
    CU_ASSERT_EQUAL(keyfile_bool(kf, "a", "bad", &v, &error), KEYFILE_INVALID);
    CU_ASSERT_FALSE(v);
    CU_ASSERT_PTR_NOT_NULL(error);
}

static void
test_numbers(void)
{
    g_autoptr(GKeyFile) kf = keyfile_of("[n]\nratio=1.5\nwhole=42\nword=many\nneg=-3\n");
    double d = 0;
    guint64 u = 7;

    CU_ASSERT_EQUAL(keyfile_double(kf, "n", "ratio", &d, NULL), KEYFILE_READ);
    CU_ASSERT_DOUBLE_EQUAL(d, 1.5, 1e-9);
    CU_ASSERT_EQUAL(keyfile_double(kf, "n", "word", &d, NULL), KEYFILE_INVALID);
    CU_ASSERT_DOUBLE_EQUAL(d, 1.5, 1e-9);
    CU_ASSERT_EQUAL(keyfile_uint64(kf, "n", "whole", &u, NULL), KEYFILE_READ);
    CU_ASSERT_EQUAL(u, 42);
    CU_ASSERT_EQUAL(keyfile_uint64(kf, "n", "word", &u, NULL), KEYFILE_INVALID);
    CU_ASSERT_EQUAL(keyfile_uint64(kf, "n", "neg", &u, NULL), KEYFILE_INVALID);
    CU_ASSERT_EQUAL(keyfile_uint64(kf, "n", "none", &u, NULL), KEYFILE_ABSENT);
    CU_ASSERT_EQUAL(u, 42);
}

static void
test_string(void)
{
    g_autoptr(GKeyFile) kf = keyfile_of("[s]\nname=web1\nempty=\n");
    g_autofree char *v = g_strdup("before");

    CU_ASSERT_EQUAL(keyfile_string(kf, "s", "none", &v, NULL), KEYFILE_ABSENT);
    CU_ASSERT_STRING_EQUAL(v, "before");
    CU_ASSERT_EQUAL(keyfile_string(kf, "s", "name", &v, NULL), KEYFILE_READ);
    CU_ASSERT_STRING_EQUAL(v, "web1");
    CU_ASSERT_EQUAL(keyfile_string(kf, "s", "empty", &v, NULL), KEYFILE_READ);
    CU_ASSERT_STRING_EQUAL(v, "");
}

static void
test_load_file(void)
{
    g_autofree char *dir = g_dir_make_tmp("hotcpu-keyfile-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "x.conf", NULL);
    g_autofree char *bad = g_build_filename(dir, "bad.conf", NULL);
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autoptr(GError) error = NULL;
    gboolean found = TRUE;

    /* missing: no error when allowed, GLib's NOENT when not */
    CU_ASSERT_TRUE(keyfile_load_file(kf, path, TRUE, &found, NULL));
    CU_ASSERT_FALSE(found);
    CU_ASSERT_FALSE(keyfile_load_file(kf, path, FALSE, &found, &error));
    CU_ASSERT_TRUE(g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT));
    g_clear_error(&error);

    g_assert(g_file_set_contents(path, "[g]\nk=v\n", -1, NULL));
    CU_ASSERT_TRUE(keyfile_load_file(kf, path, TRUE, &found, NULL));
    CU_ASSERT_TRUE(found);

    /* not a key file: an error even when a missing file would be fine */
    g_assert(g_file_set_contents(bad, "no group here\n", -1, NULL));
    CU_ASSERT_FALSE(keyfile_load_file(kf, bad, TRUE, &found, &error));
    CU_ASSERT_PTR_NOT_NULL(error);
    g_unlink(path);
    g_unlink(bad);
    g_rmdir(dir);
}

static void
test_write_all(void)
{
    int fds[2];
    char buf[16] = { 0 };
    int full;

    g_assert(pipe(fds) == 0);
    CU_ASSERT_TRUE(fd_write_all(fds[1], "whole text", 10));
    CU_ASSERT_EQUAL(read(fds[0], buf, sizeof buf - 1), 10);
    CU_ASSERT_STRING_EQUAL(buf, "whole text");
    close(fds[0]);
    close(fds[1]);

    /* /dev/full: ENOSPC, told through errno */
    full = open("/dev/full", O_WRONLY);
    if (full >= 0) {
        errno = 0;
        CU_ASSERT_FALSE(fd_write_all(full, "x", 1));
        CU_ASSERT_EQUAL(errno, ENOSPC);
        close(full);
    }
    errno = 0;
    CU_ASSERT_FALSE(fd_write_all(-1, "x", 1));
    CU_ASSERT_EQUAL(errno, EBADF);
}

void
register_keyfile_suite(void)
{
    static const CunitTest tests[] = {
        { "booleans: read, absent, invalid", test_bool },
        { "numbers: double and whole", test_numbers },
        { "strings replace, absent leaves", test_string },
        { "loading: missing allowed or not, bad file", test_load_file },
        { "fd_write_all: whole, ENOSPC, EBADF", test_write_all },
        { NULL, NULL },
    };

    cunit_add_suite("keyfile", tests);
}
