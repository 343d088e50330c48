/* tests/launcher/test_config.c: size parsing and the VM file validator's messages, in process. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "config.h"
#include "net.h"

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

	tap_plan(154);
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

	/* display */
	load_cpus(path, "", 0, "a file without display loads", NULL);
	tap_ok(cfg_last.display == CFG_DISPLAY_NONE, "no display group: no display");
	load_cpus(path, "display = { type = \"headless\"; };\n", 0, "display.type = headless accepted", NULL);
	tap_ok(cfg_last.display == CFG_DISPLAY_HEADLESS && cfg_last.vram_mb == 16,
	       "headless VGA, 16 MiB by default");
	load_cpus(path, "display = { vram = 32; };\n", 0, "display with vram only accepted", NULL);
	tap_ok(cfg_last.display == CFG_DISPLAY_HEADLESS && cfg_last.vram_mb == 32,
	       "a display group without type is headless; vram 32 MiB");
	load_cpus(path, "display = { vram = \"256M\"; };\n", 0, "vram as a size string accepted", NULL);
	tap_ok(cfg_last.vram_mb == 256, "vram \"256M\" is 256 MiB");
	load_cpus(path, "display = { type = \"none\"; };\n", 0, "display.type = none accepted", NULL);
	tap_ok(cfg_last.display == CFG_DISPLAY_NONE, "type none: no display");
	load_cpus(path, "display = { type = \"cirrus\"; };\n", -1, "unknown display refused",
		  ":3: display.type: 'cirrus' is not a display (\"vnc\", \"terminal\", \"headless\" or \"none\")");
	load_cpus(path, "display = {\n vram = 3; };\n", -1, "vram not a power of two refused",
		  ":4: display.vram: 3 MiB is not a power of two");
	load_cpus(path, "display = { vram = 512; };\n", -1, "vram 512 refused", ":3: display.vram: 512 MiB; from 1 to 256");
	load_cpus(path, "display = { vram = 0; };\n", -1, "vram 0 refused", ":3: display.vram: 0 MiB; from 1 to 256");
	load_cpus(path, "display = { vram = \"1536K\"; };\n", -1, "vram in KiB refused",
		  ":3: display.vram: '1536K' is not a number of MiB");
	load_cpus(path, "display = { vram = true; };\n", -1, "vram as a boolean refused",
		  ":3: display.vram: expected a number of MiB");
	load_cpus(path, "display = { type = \"none\"; vram = 8; };\n", -1, "vram without a display refused",
		  ":3: display.vram: only with a display");
	load_cpus(path, "display = \"vnc\";\n", -1, "display as a string refused", ":3: display: expected a group");
	load_cpus(path, "display = { typ = \"vnc\"; };\n", -1, "unknown key in display refused",
		  ":3: display.typ: unknown setting; did you mean 'display.type'?");
	/* vnc: listen */
	load_cpus(path, "display = { type = \"vnc\"; };\n", 0, "type vnc without listen accepted", NULL);
	tap_ok(cfg_last.display == CFG_DISPLAY_VNC && cfg_last.listen_host &&
	       !strcmp(cfg_last.listen_host, "127.0.0.1") && cfg_last.listen_port == 5900,
	       "vnc listens on 127.0.0.1:5900 by default");
	load_cpus(path, "display = { type = \"vnc\";\n listen = \"[::1]:5905\"; };\n", 0,
		  "an IPv6 listen address accepted", NULL);
	tap_ok(cfg_last.listen_host && !strcmp(cfg_last.listen_host, "::1") && cfg_last.listen_port == 5905 &&
	       cfg_last.listen_line == 4, "[::1]:5905: host ::1, port 5905, its line kept for a bind failure");
	load_cpus(path, "display = { type = \"vnc\"; listen = \":5999\"; };\n", 0, "listen :PORT accepted", NULL);
	tap_ok(!cfg_last.listen_host && cfg_last.listen_port == 5999, ":5999: every address, port 5999");
	load_cpus(path, "display = { type = \"vnc\"; listen = \"localhost:0\"; };\n", -1, "port 0 refused",
		  ":3: display.listen: 'localhost:0' is not HOST:PORT");
	load_cpus(path, "display = { type = \"vnc\"; listen = \"127.0.0.1\"; };\n", -1, "no port refused",
		  ":3: display.listen: '127.0.0.1' is not HOST:PORT");
	load_cpus(path, "display = { type = \"vnc\"; listen = \"::1:5900\"; };\n", -1,
		  "an IPv6 address without brackets refused", ":3: display.listen: '::1:5900' is not HOST:PORT");
	load_cpus(path, "display = { type = \"vnc\"; listen = 5900; };\n", -1, "listen as a number refused",
		  ":3: display.listen:");
	load_cpus(path, "display = { type = \"terminal\"; listen = \":5900\"; };\n", -1,
		  "listen without vnc refused", ":3: display.listen: only with type = \"vnc\"");
	/* terminal: the serial console leaves stdio to it */
	load_cpus(path, "display = { type = \"terminal\"; };\n", 0, "type terminal accepted", NULL);
	tap_ok(cfg_last.display == CFG_DISPLAY_TERMINAL && cfg_last.serial == SERIAL_NONE,
	       "terminal: the serial console defaults to none");
	load_cpus(path, "serial = { output = \"stdio\"; };\ndisplay = { type = \"terminal\"; };\n", -1,
		  "terminal with serial on stdio refused", ":4: display.type: \"terminal\" takes the terminal");
	load_cpus(path, "serial = { output = \"con.log\"; };\ndisplay = { type = \"terminal\"; };\n", 0,
		  "terminal with serial to a file accepted", NULL);
	tap_ok(cfg_last.serial == SERIAL_FILE, "terminal: serial.output a file kept");
	/* listen syntax */
	{
		char *h = NULL;
		uint16_t p = 0;

		tap_ok(config_parse_listen("vnc.example:5900", &h, &p) == 0 && h &&
		       !strcmp(h, "vnc.example") && p == 5900, "config_parse_listen: a host name");
		free(h);
		h = NULL;
		tap_ok(config_parse_listen("[]:5900", &h, &p) < 0 && config_parse_listen("a:b:1", &h, &p) < 0 &&
		       config_parse_listen("a:65536", &h, &p) < 0 && config_parse_listen("a:59x", &h, &p) < 0 &&
		       config_parse_listen("[::1]5900", &h, &p) < 0 && !h,
		       "config_parse_listen: empty brackets, two colons, port 65536, junk refused");
	}

	/* nics */
	load_cpus(path, "name = \"vm1\";\nnics = ( { }, { model = \"e1000\"; } );\n", 0, "two NICs, defaults", NULL);
	{
		uint8_t m0[6], m1[6];

		config_default_mac("vm1", 0, m0);
		config_default_mac("vm1", 1, m1);
		tap_ok(cfg_last.nr_nics == 2 && cfg_last.nics[0].model == NIC_MODEL_VIRTIO &&
		       cfg_last.nics[0].backend == NIC_BACKEND_USER &&
		       cfg_last.nics[1].model == NIC_MODEL_E1000 && !cfg_last.nics[0].ifname &&
		       !cfg_last.nics[0].nr_hostfwd && cfg_last.nics[0].line == 4,
		       "defaults: virtio, user, no ifname, no rules; the entry's line kept");
		tap_ok(!memcmp(cfg_last.nics[0].mac, m0, 6) && !memcmp(cfg_last.nics[1].mac, m1, 6) &&
		       m0[0] == 0x02 && m1[0] == 0x02 && memcmp(m0, m1, 6),
		       "default MACs: 02 (locally administered unicast), one per index");
		config_default_mac("vm2", 0, m1);
		tap_ok(memcmp(m0, m1, 6) != 0, "default MAC: another VM name, another address");
		config_default_mac("vm1", 0, m1);
		tap_ok(!memcmp(m0, m1, 6), "default MAC: stable");
	}
	load_cpus(path, "nics = ( { model = \"virtio\"; backend = \"user\"; mac = \"52:54:00:AB:cd:0f\";\n"
		  "  hostfwd = [ \"tcp:127.0.0.1:2222-:22\", \"udp::5353-10.0.2.15:53\", \"::8080-:80\" ]; } );\n",
		  0, "a user NIC with a MAC and three port forwards", NULL);
	tap_ok(cfg_last.nics[0].mac[0] == 0x52 && cfg_last.nics[0].mac[3] == 0xab &&
	       cfg_last.nics[0].mac[5] == 0x0f && cfg_last.nics[0].nr_hostfwd == 3 &&
	       !strcmp(cfg_last.nics[0].hostfwd[1], "udp::5353-10.0.2.15:53"),
	       "mac and hostfwd kept");
	load_cpus(path, "nics = ( { backend = \"tap\"; ifname = \"tap0\"; bridge = \"br0\"; },\n"
		  "  { backend = \"tap\"; model = \"e1000\"; } );\n", 0, "tap NICs, with and without ifname", NULL);
	tap_ok(cfg_last.nics[0].backend == NIC_BACKEND_TAP && !strcmp(cfg_last.nics[0].ifname, "tap0") &&
	       !strcmp(cfg_last.nics[0].bridge, "br0") && !cfg_last.nics[1].ifname,
	       "tap: ifname and bridge kept; none given: NULL (kvm-launch makes one)");
	load_cpus(path, "nics = ( { model = \"rtl8139\"; } );\n", -1, "unknown model refused",
		  ":3: nics[0].model: 'rtl8139' is not a NIC model");
	load_cpus(path, "nics = ( {},\n { backend = \"vde\"; } );\n", -1, "unknown backend refused",
		  ":4: nics[1].backend: 'vde' is not a backend");
	load_cpus(path, "nics = ( { mac = \"52:54:00:12:34\"; } );\n", -1, "short MAC refused",
		  ":3: nics[0].mac: '52:54:00:12:34' is not a MAC address");
	load_cpus(path, "nics = ( { mac = \"52-54-00-12-34-56\"; } );\n", -1, "MAC with dashes refused",
		  ":3: nics[0].mac: '52-54-00-12-34-56' is not a MAC address");
	load_cpus(path, "nics = ( { mac = \"01:00:5e:00:00:01\"; } );\n", -1, "multicast MAC refused",
		  ":3: nics[0].mac: '01:00:5e:00:00:01' is a multicast address");
	load_cpus(path, "nics = ( { mac = \"00:00:00:00:00:00\"; } );\n", -1, "zero MAC refused",
		  ":3: nics[0].mac: all zeros");
	load_cpus(path, "nics = ( { mac = \"02:00:00:00:00:01\"; },\n  { mac = \"02:00:00:00:00:01\"; } );\n",
		  -1, "duplicate MAC refused", ":4: nics[1].mac: 02:00:00:00:00:01 is nics[0]'s too");
	load_cpus(path, "nics = ( { modle = \"virtio\"; } );\n", -1, "unknown key in an entry refused",
		  ":3: nics[0].modle: unknown setting; did you mean 'nics[0].model'?");
	load_cpus(path, "nics = ( { hostfwd = [ \"tcp::2222-:22\" ];\n backend = \"tap\"; } );\n", -1,
		  "hostfwd with tap refused", ":3: nics[0].hostfwd: only with backend = \"user\"");
	load_cpus(path, "nics = ( { ifname = \"tap0\"; } );\n", -1, "ifname with user refused",
		  ":3: nics[0].ifname: only with backend = \"tap\"");
	load_cpus(path, "nics = ( { bridge = \"br0\"; } );\n", -1, "bridge with user refused",
		  ":3: nics[0].bridge: only with backend = \"tap\"");
	load_cpus(path, "nics = ( { backend = \"tap\"; ifname = \"a-very-long-name0\"; } );\n", -1,
		  "ifname of 17 characters refused", ":3: nics[0].ifname: 'a-very-long-name0' is not an interface name");
	load_cpus(path, "nics = ( { backend = \"tap\"; bridge = \"br/0\"; } );\n", -1,
		  "bridge with a slash refused", ":3: nics[0].bridge: 'br/0' is not an interface name");
	load_cpus(path, "nics = ( { hostfwd = \"tcp::2222-:22\"; } );\n", -1, "hostfwd as a string refused",
		  ":3: nics[0].hostfwd: expected a list");
	load_cpus(path, "nics = ( { hostfwd = [\n \"sctp::2222-:22\" ]; } );\n", -1, "hostfwd protocol refused",
		  ":4: nics[0].hostfwd[0]: 'sctp::2222-:22': protocol \"sctp\": tcp or udp");
	load_cpus(path, "nics = ( { hostfwd = [ \"tcp::0-:22\" ]; } );\n", -1, "host port 0 refused",
		  ":3: nics[0].hostfwd[0]: 'tcp::0-:22': host port \"0\" is not a number from 1 to 65535");
	load_cpus(path, "nics = ( { hostfwd = [ \"tcp::22-:65536\" ]; } );\n", -1, "guest port 65536 refused",
		  "guest port \"65536\" is not a number from 1 to 65535");
	load_cpus(path, "nics = ( { hostfwd = [ \"tcp:localhost:2222-:22\" ]; } );\n", -1, "host name refused",
		  "host address \"localhost\" is not an IPv4 address");
	load_cpus(path, "nics = ( { hostfwd = [ \"tcp::2222-10.0.2:22\" ]; } );\n", -1, "bad guest address refused",
		  "guest address \"10.0.2\" is not an IPv4 address");
	load_cpus(path, "nics = ( { hostfwd = [ \"tcp::2222:22\" ]; } );\n", -1, "rule without '-' refused",
		  "\"tcp::2222:22\" is not [tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport");
	load_cpus(path, "nics = ( { hostfwd = [ \"tcp::2222-22\" ]; } );\n", -1, "rule without the guest ':' refused",
		  "\"tcp::2222-22\" is not [tcp|udp]");
	load_cpus(path, "nics = ( { hostfwd = [ \"tcp::2222-:22\" ]; },\n { hostfwd = [ \"tcp:127.0.0.1:2222-:23\" ]; } );\n",
		  -1, "the same host port twice refused",
		  ":4: nics[1].hostfwd[0]: 'tcp:127.0.0.1:2222-:23' binds the host port of nics[0].hostfwd[0]");
	load_cpus(path, "nics = ( { hostfwd = [ \"tcp::2222-:22\", \"udp::2222-:22\" ]; } );\n", 0,
		  "tcp and udp on one port accepted", NULL);
	load_cpus(path, "nics = ( { hostfwd = [ \"::1-:1\", \"::2-:1\", \"::3-:1\", \"::4-:1\", \"::5-:1\",\n"
		  "  \"::6-:1\", \"::7-:1\", \"::8-:1\", \"::9-:1\" ]; } );\n", -1, "9 rules refused",
		  ":3: nics[0].hostfwd: 9 rules; at most 8");
	load_cpus(path, "nics = ( {}, {}, {}, {}, {}, {}, {}, {}, {} );\n", -1, "9 NICs refused",
		  ":3: nics: 9 NICs; at most 8");
	load_cpus(path, "nics = { model = \"virtio\"; };\n", -1, "nics as a group refused",
		  ":3: nics: expected a list");
	load_cpus(path, "nics = ( \"virtio\" );\n", -1, "an entry that is not a group refused",
		  ":3: nics[0]: expected {");
	{
		struct net_hostfwd fwd;
		char err[160];

		tap_ok(!net_hostfwd_parse("tcp:127.0.0.1:2222-:22", &fwd, err, sizeof(err)) && !fwd.udp &&
		       fwd.host_addr.s_addr == htonl(0x7f000001) && fwd.host_port == 2222 &&
		       fwd.guest_addr.s_addr == htonl(0x0a00020f) && fwd.guest_port == 22,
		       "net_hostfwd_parse: tcp, host address, guest address left out: 10.0.2.15");
		tap_ok(!net_hostfwd_parse("udp::53-10.0.2.15:5353", &fwd, err, sizeof(err)) && fwd.udp &&
		       !fwd.host_addr.s_addr && fwd.guest_addr.s_addr == htonl(0x0a00020f) &&
		       fwd.host_port == 53 && fwd.guest_port == 5353,
		       "net_hostfwd_parse: udp, any host address, a guest address");
		tap_ok(net_hostfwd_parse("tcp:1.2.3.4:22-:22x", &fwd, err, sizeof(err)) &&
		       net_hostfwd_parse("", &fwd, err, sizeof(err)) &&
		       net_hostfwd_parse("tcp:1.2.3.4:-:22", &fwd, err, sizeof(err)),
		       "net_hostfwd_parse: junk after a port, empty, no host port: refused");
	}
	config_free(&cfg_last);
	unlink(path);
	snprintf(path, sizeof(path), "%s/fw.bin", dir);
	unlink(path);
	rmdir(dir);
	return tap_done();
}
