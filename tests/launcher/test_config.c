/* tests/launcher/test_config.c: size parsing and the VM file validator's messages, in process. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "config.h"

static struct vm_config cfg_last;

/* A VM file of the two lines every test shares, then extra; its load result and message. */
static void load_cpus(const char *path, const char *extra, int want, const char *what,
		      const char *msg)
{
	char err[1024] = "";
	FILE *f = fopen(path, "w"), *e = tmpfile();
	int saved = dup(2), ret;

	fprintf(f, "memory = \"64M\";\nboot = { firmware = \"fw.bin\"; };\n%s", extra);
	fclose(f);
	fflush(stderr);
	dup2(fileno(e), 2);
	config_free(&cfg_last);
	ret = config_load(path, &cfg_last);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(e);
	err[fread(err, 1, sizeof(err) - 1, e)] = 0;
	fclose(e);
	tap_ok(ret == want, "%s", what);
	if (msg)
		tap_ok(strstr(err, msg) != NULL, "%s: message names file:line (%s)", what, err);
	if (ret)
		memset(&cfg_last, 0, sizeof(cfg_last));
}

int main(void)
{
	uint64_t v = 0;
	struct vm_config cfg;
	char dir[] = "/tmp/kl-cfg-XXXXXX", path[256];
	FILE *f;

	tap_plan(37);
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
	load_cpus(path, "vcpus = 4;\n", 0, "vcpus = 4 accepted", NULL);
	tap_ok(cfg_last.vcpus == 4 && cfg_last.irqchip == CFG_IRQCHIP_KERNEL &&
	       cfg_last.pit == CFG_PIT_KERNEL && !cfg_last.rng,
	       "default: 4 vCPUs, in-kernel irqchip and PIT, no virtio-rng");
	load_cpus(path, "irqchip = \"user\";\n", 0, "irqchip = user, 1 vCPU accepted", NULL);
	tap_ok(cfg_last.irqchip == CFG_IRQCHIP_USER && cfg_last.pit == CFG_PIT_USER,
	       "irqchip = user: the PIT in userspace too");
	load_cpus(path, "irqchip = \"kernel\";\npit = \"user\";\n", 0, "pit = user accepted", NULL);
	tap_ok(cfg_last.pit == CFG_PIT_USER, "pit = user kept");
	load_cpus(path, "vcpus = 0;\n", -1, "vcpus = 0 refused", ":3: vcpus: must be at least 1");
	load_cpus(path, "vcpus = 65;\n", -1, "vcpus = 65 refused", ":3: vcpus: 65 vCPUs asked, at most 64");
	load_cpus(path, "vcpus = \"2\";\n", -1, "vcpus as a string refused", ":3: vcpus: expected an integer");
	load_cpus(path, "irqchip = \"apic\";\n", -1, "unknown irqchip refused",
		  ":3: irqchip: 'apic' is not an irqchip");
	load_cpus(path, "vcpus = 2;\nirqchip = \"user\";\n", -1, "irqchip = user with 2 vCPUs refused",
		  ":4: irqchip: \"user\" (the 8259 PIC in kvm-launch, no local APICs) runs 1 vCPU only, 2 asked at line 3");
	load_cpus(path, "irqchip = \"split\";\npit = \"kernel\";\n", -1, "pit = kernel without the in-kernel PIC refused",
		  ":4: pit: \"kernel\" needs the in-kernel PIC");
	load_cpus(path, "pit = \"bios\";\n", -1, "unknown pit refused", ":3: pit: 'bios' is neither");
	load_cpus(path, "rng = true;\n", 0, "rng = true accepted", NULL);
	tap_ok(cfg_last.rng, "rng = true: the virtio entropy device");
	load_cpus(path, "rng = false;\n", 0, "rng = false accepted", NULL);
	tap_ok(!cfg_last.rng, "rng = false: none");
	load_cpus(path, "rng = \"yes\";\n", -1, "rng as a string refused", ":3: rng: expected true or false");
	config_free(&cfg_last);
	unlink(path);
	snprintf(path, sizeof(path), "%s/fw.bin", dir);
	unlink(path);
	rmdir(dir);
	return tap_done();
}
