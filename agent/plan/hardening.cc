#include "plan/hardening.h"

namespace gpuhost::plan {

std::vector<SysctlSetting> HardeningSysctls(Hardening level) {
  if (level == Hardening::kOff) return {};
  std::vector<SysctlSetting> s = {
      {"kernel.kptr_restrict", "2"},
      {"kernel.dmesg_restrict", "1"},
      {"kernel.unprivileged_bpf_disabled", "1"},
      {"net.core.bpf_jit_harden", "2"},
      {"kernel.kexec_load_disabled", "1"},
      {"kernel.perf_event_paranoid", "3"},
      {"kernel.randomize_va_space", "2"},
      {"kernel.sysrq", "0"},
      {"kernel.yama.ptrace_scope", "1"},
      {"dev.tty.ldisc_autoload", "0"},
      {"fs.protected_symlinks", "1"},
      {"fs.protected_hardlinks", "1"},
      {"fs.protected_fifos", "2"},
      {"fs.protected_regular", "2"},
      {"fs.suid_dumpable", "0"},
      {"net.ipv4.conf.all.accept_redirects", "0"},
      {"net.ipv4.conf.default.accept_redirects", "0"},
      {"net.ipv6.conf.all.accept_redirects", "0"},
      {"net.ipv4.conf.all.send_redirects", "0"},
      {"net.ipv4.tcp_syncookies", "1"},
      // From the kernel-hardening-checker report (qa/compare.sh; docs/hardening.md).
      {"kernel.oops_limit", "100"},  // an oops storm ends in a panic, not in a half-dead host
      {"vm.mmap_rnd_bits", "32"},    // the most ASLR entropy x86-64 allows (default 28)
      {"vm.mmap_rnd_compat_bits", "16"},
      {"net.ipv6.conf.default.accept_redirects", "0"},
      {"net.ipv4.conf.default.accept_source_route", "0"},
      // systemd-networkd handles router advertisements itself on the links it manages
      // (IPv6AcceptRA=); the kernel's own RA handling stays off everywhere else.
      {"net.ipv6.conf.all.accept_ra", "0"},
      {"net.ipv6.conf.default.accept_ra", "0"},
  };
  if (level == Hardening::kStrict) {
    // Waived in baseline: post-copy live migration needs userfaultfd.
    s.push_back({"vm.unprivileged_userfaultfd", "0"});
    s.push_back({"kernel.yama.ptrace_scope", "2"});
    // Waived in baseline: VM disks may use io_uring (libvirt <driver io='io_uring'>).
    s.push_back({"kernel.io_uring_disabled", "2"});
  }
  // A later duplicate overrides an earlier one.
  std::vector<SysctlSetting> out;
  for (const auto& x : s) {
    bool replaced = false;
    for (auto& o : out) {
      if (o.key == x.key) {
        o.value = x.value;
        replaced = true;
      }
    }
    if (!replaced) out.push_back(x);
  }
  return out;
}

std::vector<std::string> BlacklistedModules(Hardening level) {
  if (level == Hardening::kOff) return {};
  return {"dccp",   "sctp",     "rds",       "tipc", "n_hdlc",    "ax25",  "netrom", "x25", "rose",
          "decnet", "econet",   "af_802154", "ipx",  "appletalk", "psnap", "p8022",  "can", "atm",
          "cramfs", "freevxfs", "jffs2",     "hfs",  "hfsplus",   "udf",   "vivid"};
}

}  // namespace gpuhost::plan
