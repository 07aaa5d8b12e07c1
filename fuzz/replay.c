/* SPDX-License-Identifier: MIT */
/*
 * Runs a fuzz target without libFuzzer (SQLite's fuzzcheck is the model):
 * every file named, every file in every directory named, and with
 * "--random N SEED" also N pseudo-random inputs. Used as an ordinary test.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		return 1;
	}
	static uint8_t buf[1 << 20];
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, n);
	return 0;
}

static int
run_path(const char *path, int *count)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		perror(path);
		return 1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*count)++;
		return run_file(path);
	}
	DIR *d = opendir(path);
	struct dirent *e;
	int bad = 0;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char sub[4096];
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		bad |= run_path(sub, count);
	}
	if (d)
		closedir(d);
	return bad;
}

int
main(int argc, char **argv)
{
	int count = 0, bad = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--random") == 0 && i + 2 < argc) {
			long n = atol(argv[i + 1]);
			uint64_t s = strtoull(argv[i + 2], NULL, 0) | 1;
			static uint8_t buf[4096];
			for (long k = 0; k < n; k++) {
				size_t len = (size_t)(s % sizeof(buf));
				for (size_t j = 0; j < len; j++) {
					s ^= s << 13;
					s ^= s >> 7;
					s ^= s << 17;
					buf[j] = (uint8_t)s;
				}
				LLVMFuzzerTestOneInput(buf, len);
				count++;
			}
			i += 2;
			continue;
		}
		bad |= run_path(argv[i], &count);
	}
	printf("%d inputs replayed\n", count);
	return bad;
}
