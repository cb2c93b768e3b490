/* fake_sysfs.c: fake /sys/devices/system/cpu trees for tests. */
#include "fake_sysfs.h"

#include "fd_io.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Test setup must not fail silently: a half-built tree would make the code
 * under test look broken.  So every I/O failure aborts the program. */
static void
write_file(const char *path, const char *contents)
{
    gsize len = strlen(contents);
    int fd;

    /* In place, keeping the inode as a sysfs attribute would, and truncated:
     * glib 2.74's g_file_set_contents_full() without the CONSISTENT flag
     * leaves the old tail behind when the new text is shorter. */
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        g_error("fake_sysfs: cannot open %s: %s", path, g_strerror(errno));
    if (!fd_write_all(fd, contents, len))
        g_error("fake_sysfs: cannot write %s: %s", path, g_strerror(errno));
    if (close(fd) < 0)
        g_error("fake_sysfs: cannot close %s: %s", path, g_strerror(errno));
}

static void
make_dir(const char *path)
{
    if (g_mkdir_with_parents(path, 0755) < 0)
        g_error("fake_sysfs: cannot create %s: %s", path, g_strerror(errno));
}

static char *
cpu_dir(const char *root, guint id)
{
    g_autofree char *name = g_strdup_printf("cpu%u", id);

    return g_build_filename(root, name, NULL);
}

/* "0-(n-1)", "0" or "" for the masks of the ready-made trees. */
static char *
range_text(guint n)
{
    if (n == 0)
        return g_strdup("\n");
    if (n == 1)
        return g_strdup("0\n");
    return g_strdup_printf("0-%u\n", n - 1);
}

char *
fake_sysfs_new(void)
{
    g_autoptr(GError) error = NULL;
    char *root = g_dir_make_tmp("hotcpu-sysfs-XXXXXX", &error);

    if (root == NULL)
        g_error("fake_sysfs: cannot create a temp dir: %s", error->message);
    fake_sysfs_set_masks(root, "", "", "");
    return root;
}

static int
remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    if (remove(path) < 0)
        g_warning("fake_sysfs: cannot remove %s: %s", path, g_strerror(errno));
    return 0;
}

void
fake_sysfs_destroy(char *root)
{
    if (root == NULL)
        return;
    nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    g_free(root);
}

static void
write_mask(const char *root, const char *name, const char *value)
{
    g_autofree char *path = NULL;
    g_autofree char *text = NULL;

    if (value == NULL)
        return;
    path = g_build_filename(root, name, NULL);
    text = g_strdup_printf("%s\n", value);
    write_file(path, text);
}

void
fake_sysfs_set_masks(const char *root, const char *online, const char *present,
                     const char *possible)
{
    write_mask(root, "online", online);
    write_mask(root, "present", present);
    write_mask(root, "possible", possible);
}

static void
write_int(const char *dir, const char *name, gint value)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    g_autofree char *text = g_strdup_printf("%d\n", value);

    write_file(path, text);
}

void
fake_sysfs_add_cpu(const char *root, const FakeCpu *cpu)
{
    g_autofree char *dir = cpu_dir(root, cpu->id);

    make_dir(dir);
    if (cpu->has_online_file)
        fake_sysfs_set_online(root, cpu->id, cpu->online);

    /* The kernel removes topology/ while a CPU is offline; a CPU without an
     * online file is always online. */
    if (cpu->online || !cpu->has_online_file) {
        g_autofree char *topo = g_build_filename(dir, "topology", NULL);
        g_autofree char *siblings_path = g_build_filename(topo, "thread_siblings_list", NULL);
        g_autofree char *siblings = cpu->siblings != NULL ? g_strdup_printf("%s\n", cpu->siblings)
                                                          : g_strdup_printf("%u\n", cpu->id);

        make_dir(topo);
        write_int(topo, "physical_package_id", cpu->socket);
        write_int(topo, "die_id", cpu->die);
        write_int(topo, "core_id", cpu->core);
        write_file(siblings_path, siblings);
    }

    if (cpu->node >= 0) {
        g_autofree char *name = g_strdup_printf("node%d", cpu->node);
        g_autofree char *link = g_build_filename(dir, name, NULL);
        /* Dangling in the fake tree; only the link's name matters. */
        g_autofree char *target = g_strdup_printf("../../node/node%d", cpu->node);

        if (symlink(target, link) < 0 && errno != EEXIST)
            g_error("fake_sysfs: cannot create link %s: %s", link, g_strerror(errno));
    }
}

void
fake_sysfs_remove_cpu(const char *root, guint id)
{
    g_autofree char *dir = cpu_dir(root, id);

    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void
fake_sysfs_set_online(const char *root, guint id, gboolean online)
{
    g_autofree char *dir = cpu_dir(root, id);
    g_autofree char *path = g_build_filename(dir, "online", NULL);

    write_file(path, online ? "1\n" : "0\n");
}

gint
fake_sysfs_get_online(const char *root, guint id)
{
    g_autofree char *dir = cpu_dir(root, id);
    g_autofree char *path = g_build_filename(dir, "online", NULL);
    g_autofree char *text = NULL;

    if (!g_file_get_contents(path, &text, NULL, NULL))
        return -1;
    g_strstrip(text);
    if (strcmp(text, "1") == 0)
        return 1;
    if (strcmp(text, "0") == 0)
        return 0;
    return -1;
}

char *
fake_sysfs_new_simple(guint present, guint online_count, guint possible)
{
    char *root = fake_sysfs_new();
    g_autofree char *online_mask = NULL;
    g_autofree char *present_mask = range_text(present);
    g_autofree char *possible_mask = range_text(possible);

    /* cpu0 has no online file, so it is online whatever was asked. */
    if (present > 0 && online_count == 0)
        online_count = 1;
    if (online_count > present)
        online_count = present;
    online_mask = range_text(online_count);

    for (guint i = 0; i < present; i++) {
        FakeCpu cpu = {
            .id = i,
            .has_online_file = i != 0,
            .online = i < online_count,
            .socket = 0,
            .die = 0,
            .core = (gint)i,
            .siblings = NULL,
            .node = 0,
        };
        fake_sysfs_add_cpu(root, &cpu);
    }

    /* range_text already ends in "\n"; write the files directly. */
    {
        const char *names[] = { "online", "present", "possible" };
        const char *values[] = { online_mask, present_mask, possible_mask };

        for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
            g_autofree char *path = g_build_filename(root, names[i], NULL);
            write_file(path, values[i]);
        }
    }
    return root;
}
