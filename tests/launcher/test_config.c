/* tests/launcher/test_config.c: size parsing and the VM file validator's messages, in process. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "config.h"

int main(void)
{
	uint64_t v = 0;
	struct vm_config cfg;
	char dir[] = "/tmp/kl-cfg-XXXXXX", path[256];
	FILE *f;

	tap_plan(12);
	tap_ok(!config_parse_size("256M", &v) && v == 256ULL << 20, "256M");
	tap_ok(!config_parse_size("1G", &v) && v == 1ULL << 30, "1G");
	tap_ok(!config_parse_size("640K", &v) && v == 640 << 10, "640K");
	tap_ok(!config_parse_size("2MiB", &v) && v == 2ULL << 20, "2MiB");
	tap_ok(!config_parse_size("4096", &v) && v == 4096, "plain bytes");
	tap_ok(!config_parse_size("0x1000", &v) && v == 4096, "hex bytes");
	tap_ok(config_parse_size("12Q", &v), "unknown suffix refused");
	tap_ok(config_parse_size("M", &v), "no digits refused");
	tap_ok(config_parse_size("-1M", &v), "negative refused");
	tap_ok(config_parse_size("99999999999T", &v), "overflow refused");

	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof(path), "%s/a.cfg", dir);
	f = fopen(path, "w");
	fprintf(f, "memory = \"64M\";\nboot = { firmware = \"fw.bin\"; };\nserial = { output = \"none\"; };\n");
	fclose(f);
	snprintf(path, sizeof(path), "%s/fw.bin", dir);
	f = fopen(path, "w");
	fseek(f, 65535, SEEK_SET);
	fputc(0, f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/a.cfg", dir);
	tap_ok(config_load(path, &cfg) == 0 && cfg.ram_size == 64ULL << 20 &&
	       cfg.firmware && !strncmp(cfg.firmware, dir, strlen(dir)) &&
	       cfg.serial == SERIAL_NONE,
	       "valid file loads; relative firmware path resolved against its directory");
	config_free(&cfg);
	f = fopen(path, "w");
	fprintf(f, "memory = \"64M\";\nboot = { firmware = \"fw.bin\"; };\nvcpus = 2;\n");
	fclose(f);
	tap_ok(config_load(path, &cfg) == -1, "vcpus = 2 refused");
	unlink(path);
	snprintf(path, sizeof(path), "%s/fw.bin", dir);
	unlink(path);
	rmdir(dir);
	return tap_done();
}
