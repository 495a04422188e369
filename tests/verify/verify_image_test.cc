// verify-image on trees that lack what an image needs. Module trees are made
// of ELF objects that look like modules to the real depmod and libkmod
// (tests/verify/modules/); the positive case on real modules is the image
// build itself, which runs verify-image on its own tree.
#include "verify/verify_image.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>

#include "base/strings.h"
#include "host/fs.h"
#include "support/sysfs_builder.h"
#include "support/test_env.h"

namespace gpuhost::testing {
namespace {

TEST(VerifyImageTest, TreeWithoutAKernelFails) {
  TempDir dir;
  RootFs fs(dir.path());
  auto rep = verify::VerifyImage(fs, false);
  EXPECT_FALSE(rep.ok());
  ASSERT_EQ(rep.findings.size(), 1u);
  EXPECT_EQ(rep.findings[0].detail, "no /usr/lib/modules/RELEASE in the tree");
}

TEST(VerifyImageTest, ModulesWithoutIndexesOrFilesFail) {
  TempDir dir;
  SysfsBuilder b(dir.path());
  b.Write("/usr/lib/modules/6.12.0-test/modules.builtin", "kernel/drivers/vfio/vfio.ko\n");
  RootFs fs(dir.path());
  auto rep = verify::VerifyImage(fs, true);
  EXPECT_FALSE(rep.ok());
  EXPECT_EQ(rep.kernel_release, "6.12.0-test");
  std::map<std::string, verify::Finding> by;
  for (const auto& f : rep.findings) by[f.what] = f;
  EXPECT_FALSE(by["module indexes (modules.dep.bin)"].ok);
  EXPECT_TRUE(by["module vfio"].ok) << "built in";
  EXPECT_FALSE(by["module vfio_pci"].ok);
  EXPECT_FALSE(by["module nvidia"].ok);
}

TEST(VerifyImageTest, TwoKernelsAreAmbiguous) {
  TempDir dir;
  SysfsBuilder b(dir.path());
  b.Write("/usr/lib/modules/6.1.0/modules.builtin", "");
  b.Write("/usr/lib/modules/6.12.0/modules.builtin", "");
  RootFs fs(dir.path());
  auto rep = verify::VerifyImage(fs, false);
  EXPECT_FALSE(rep.ok());
  EXPECT_NE(rep.findings[0].detail.find("more than one kernel"), std::string::npos);
}

// Object files of the look-alike modules, by source name (gh_dep, gh_gpu, gh_plain).
std::map<std::string, std::string> FakeModules() {
  std::map<std::string, std::string> out;
  for (const auto& path : Split(GPUHOST_FAKE_KMODS, ':')) {
    std::string stem = std::filesystem::path(path).stem().stem().string();  // gh_dep.cc.o
    out[stem] = path;
  }
  return out;
}

// Debian's nvidia-kernel-support /etc/modprobe.d/nvidia.conf (550), install lines as shipped.
constexpr const char* kDebianNvidiaConf =
    "install nvidia modprobe -i nvidia-current $CMDLINE_OPTS\n"
    "install nvidia-modeset modprobe nvidia ; modprobe -i nvidia-current-modeset $CMDLINE_OPTS\n"
    "install nvidia-drm modprobe nvidia-modeset ; modprobe -i nvidia-current-drm $CMDLINE_OPTS\n"
    "install nvidia-uvm modprobe nvidia ; modprobe -i nvidia-current-uvm $CMDLINE_OPTS\n"
    "alias\tpci:v000010DEd*sv*sd*bc03sc02i00*\t\tnvidia\n";

constexpr const char* kRelease = "6.12.0-gh";

// An image tree with every module the agent loads, the NVIDIA family as DKMS
// installs it (nvidia-current needs gh_dep and declares firmware), Debian's
// nvidia.conf, the firmware; modules.dep by the real depmod.
class ModuleTreeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto objs = FakeModules();
    ASSERT_EQ(objs.size(), 3u) << GPUHOST_FAKE_KMODS;
    std::string mods = dir_.path() + "/usr/lib/modules/" + kRelease;
    SysfsBuilder b(dir_.path());
    for (const char* m :
         {"vfio", "vfio_iommu_type1", "vfio-pci", "kvm", "kvm-intel", "kvm-amd", "vhost_net"}) {
      Copy(objs["gh_plain"], mods + "/kernel/" + m + ".ko");
    }
    Copy(objs["gh_dep"], mods + "/kernel/gh-dep.ko");
    Copy(objs["gh_gpu"], mods + "/updates/dkms/nvidia-current.ko");
    for (const char* m : {"modeset", "drm", "uvm"}) {
      Copy(objs["gh_plain"], mods + "/updates/dkms/nvidia-current-" + m + ".ko");
    }
    b.Write("/etc/modprobe.d/nvidia.conf", kDebianNvidiaConf);
    b.Write("/usr/lib/firmware/gh/550/gsp.bin", "firmware");
    // As the kernel package ships them: depmod writes every index only with these present.
    for (const char* f : {"modules.builtin", "modules.builtin.modinfo", "modules.order"}) {
      b.Write(std::string("/usr/lib/modules/") + kRelease + "/" + f, "");
    }
    // kmod 30's depmod looks under BASE/lib/modules: the merged-/usr link every image has.
    std::filesystem::create_directory_symlink("usr/lib", dir_.path() + "/lib");
    std::string cmd = "depmod -b '" + dir_.path() + "' " + kRelease + " 2>/dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd << " failed (is kmod installed?)";
  }
  void Copy(const std::string& from, const std::string& to) {
    std::filesystem::create_directories(std::filesystem::path(to).parent_path());
    std::filesystem::copy_file(from, to, std::filesystem::copy_options::overwrite_existing);
  }
  std::map<std::string, verify::Finding> Verify(bool nvidia, verify::ImageReport* rep,
                                                const verify::ModuleSigner* signer = nullptr) {
    RootFs fs(dir_.path());
    *rep = verify::VerifyImage(fs, nvidia, signer);
    std::map<std::string, verify::Finding> by;
    for (const auto& f : rep->findings) by[f.what] = f;
    return by;
  }
  TempDir dir_;
};

TEST_F(ModuleTreeTest, CompleteTreePassesAndFindsTheDriverByItself) {
  verify::ImageReport rep;
  auto by = Verify(/*nvidia=*/false, &rep);
  EXPECT_TRUE(rep.ok());
  EXPECT_EQ(rep.kernel_release, kRelease);
  ASSERT_TRUE(by.count("NVIDIA driver")) << "the DKMS modules make the family required";
  EXPECT_TRUE(by["module nvidia"].ok);
  EXPECT_NE(by["module nvidia"].detail.find("modprobe -i nvidia-current"), std::string::npos);
  EXPECT_EQ(by["module nvidia_current"].detail,
            std::string("/usr/lib/modules/") + kRelease + "/updates/dkms/nvidia-current.ko");
  EXPECT_TRUE(by["module gh_dep"].ok) << "the dependency depmod found, resolved";
  EXPECT_TRUE(by["module nvidia_current_drm"].ok);
  EXPECT_TRUE(by["module nvidia_current_uvm"].ok);
  EXPECT_TRUE(by["firmware gh/550/gsp.bin (nvidia_current)"].ok);
  EXPECT_TRUE(by["modprobe configuration"].ok);
}

// Debian installs nvidia.conf through alternatives: an absolute link that
// names the image's file, resolved inside the tree (not on this machine).
TEST_F(ModuleTreeTest, AbsoluteConfigLinksResolveInsideTheTree) {
  std::string conf = dir_.path() + "/etc/modprobe.d/nvidia.conf";
  std::filesystem::remove(conf);
  std::string target = "/etc/alternatives/gpuhost-test-nvidia--" + std::to_string(getpid());
  ASSERT_FALSE(std::filesystem::exists(target)) << "must not exist on this machine";
  SysfsBuilder b(dir_.path());
  b.Write(target, kDebianNvidiaConf);
  std::filesystem::create_symlink(target, conf);
  verify::ImageReport rep;
  auto by = Verify(/*nvidia=*/true, &rep);
  EXPECT_TRUE(rep.ok());
  for (const char* m :
       {"module nvidia", "module nvidia_modeset", "module nvidia_drm", "module nvidia_uvm"}) {
    EXPECT_TRUE(by[m].ok) << m << ": " << by[m].detail;
  }
  EXPECT_NE(by["module nvidia"].detail.find("modprobe -i nvidia-current"), std::string::npos);
}

TEST_F(ModuleTreeTest, MissingDependencyFails) {
  std::filesystem::remove(dir_.path() + "/usr/lib/modules/" + kRelease + "/kernel/gh-dep.ko");
  verify::ImageReport rep;
  auto by = Verify(true, &rep);
  EXPECT_FALSE(rep.ok());
  EXPECT_FALSE(by["module gh_dep"].ok);
  EXPECT_TRUE(by["module nvidia_current"].ok);
}

TEST_F(ModuleTreeTest, MissingFirmwareOfAnInstallLineTargetFails) {
  std::filesystem::remove(dir_.path() + "/usr/lib/firmware/gh/550/gsp.bin");
  verify::ImageReport rep;
  auto by = Verify(true, &rep);
  EXPECT_FALSE(rep.ok());
  const auto& fw = by["firmware gh/550/gsp.bin (nvidia_current)"];
  EXPECT_FALSE(fw.ok);
  EXPECT_FALSE(fw.optional) << "the GSP firmware of the module nvidia maps to is required";
}

TEST_F(ModuleTreeTest, BadModprobeLineFails) {
  SysfsBuilder(dir_.path()).Write("/etc/modprobe.d/typo.conf", "blacklst nouveau\n");
  verify::ImageReport rep;
  auto by = Verify(true, &rep);
  EXPECT_FALSE(rep.ok());
  EXPECT_FALSE(by["modprobe configuration"].ok);
  EXPECT_NE(by["modprobe configuration"].detail.find("typo.conf"), std::string::npos)
      << by["modprobe configuration"].detail;
}

TEST_F(ModuleTreeTest, NvidiaFlagWithoutTheDriverFails) {
  std::string dkms = dir_.path() + "/usr/lib/modules/" + kRelease + "/updates";
  std::filesystem::remove_all(dkms);
  std::filesystem::remove(dir_.path() + "/etc/modprobe.d/nvidia.conf");
  verify::ImageReport rep;
  auto by = Verify(false, &rep);
  EXPECT_TRUE(rep.ok()) << "no driver in the image: the kvm-host set only";
  EXPECT_FALSE(by.count("module nvidia"));
  by = Verify(true, &rep);
  EXPECT_FALSE(rep.ok());
  EXPECT_FALSE(by["module nvidia"].ok);
}

// A key pair made with the openssl command; returns the certificate's path.
std::string MakeCert(const std::string& dir, const std::string& cn) {
  std::string key = dir + "/" + cn + ".key", cert = dir + "/" + cn + ".crt";
  std::string cmd =
      "openssl req -new -x509 -newkey rsa:2048 -sha256 -nodes -days 1 -subj '/CN=" + cn +
      "/' -keyout '" + key + "' -out '" + cert + "' 2>/dev/null";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  return cert;
}

// Appends a module signature as the kernel's scripts/sign-file does: a
// detached PKCS#7 signature in DER (issuer and serial, no certificate, no
// attributes), struct module_signature {algo, hash, id_type = 2 (PKCS#7),
// signer_len, key_id_len, pad[3], sig_len big-endian}, then the marker. Made
// with the openssl command here, so the test needs no linux-kbuild.
void SignLikeSignFile(const std::string& module, const std::string& cert) {
  std::string key = cert.substr(0, cert.size() - 4) + ".key", sig = module + ".p7s";
  std::string cmd = "openssl cms -sign -in '" + module + "' -signer '" + cert + "' -inkey '" + key +
                    "' -outform DER -binary -nocerts -noattr -md sha256 -out '" + sig + "'";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::ifstream in(sig, std::ios::binary);
  std::string der((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_FALSE(der.empty());
  uint32_t n = static_cast<uint32_t>(der.size());
  std::string trailer = {0, 0, 2, 0, 0, 0, 0, 0};
  for (int shift = 24; shift >= 0; shift -= 8) trailer += static_cast<char>((n >> shift) & 0xff);
  std::ofstream out(module, std::ios::binary | std::ios::app);
  out << der << trailer << "~Module signature appended~\n";
  std::filesystem::remove(sig);
}

// issue 15: the DKMS modules must carry the image key's signature.
TEST_F(ModuleTreeTest, ModulesSignedWithTheImageKeyPass) {
  TempDir keys;
  std::string cert = MakeCert(keys.path(), "gpuhost-image-db");
  std::string dkms = dir_.path() + "/usr/lib/modules/" + kRelease + "/updates/dkms/";
  for (const char* m :
       {"nvidia-current", "nvidia-current-modeset", "nvidia-current-drm", "nvidia-current-uvm"}) {
    SignLikeSignFile(dkms + m + ".ko", cert);
  }
  auto signer = verify::ReadModuleSigner(cert);
  ASSERT_TRUE(signer.ok()) << signer.status().ToString();
  EXPECT_EQ(signer->name, "gpuhost-image-db");
  verify::ImageReport rep;
  auto by = Verify(true, &rep, &*signer);
  EXPECT_TRUE(rep.ok());
  for (const char* m :
       {"nvidia_current", "nvidia_current_modeset", "nvidia_current_drm", "nvidia_current_uvm"}) {
    const auto& f = by[std::string("signature of ") + m];
    EXPECT_TRUE(f.ok) << m << ": " << f.detail;
    EXPECT_NE(f.detail.find("'gpuhost-image-db'"), std::string::npos) << f.detail;
  }
  EXPECT_FALSE(by.count("signature of vfio_pci")) << "the kernel's own modules are Debian's";
}

TEST_F(ModuleTreeTest, UnsignedOrForeignSignedModulesFail) {
  TempDir keys;
  std::string ours = MakeCert(keys.path(), "gpuhost-image-db");
  std::string other = MakeCert(keys.path(), "someone-else");
  std::string dkms = dir_.path() + "/usr/lib/modules/" + kRelease + "/updates/dkms/";
  SignLikeSignFile(dkms + "nvidia-current.ko", ours);
  SignLikeSignFile(dkms + "nvidia-current-drm.ko", other);
  SignLikeSignFile(dkms + "nvidia-current-uvm.ko", ours);
  auto signer = verify::ReadModuleSigner(ours);
  ASSERT_TRUE(signer.ok());
  verify::ImageReport rep;
  auto by = Verify(true, &rep, &*signer);
  EXPECT_FALSE(rep.ok());
  EXPECT_TRUE(by["signature of nvidia_current"].ok);
  EXPECT_FALSE(by["signature of nvidia_current_modeset"].ok);
  EXPECT_NE(by["signature of nvidia_current_modeset"].detail.find("unsigned"), std::string::npos);
  EXPECT_FALSE(by["signature of nvidia_current_drm"].ok);
  EXPECT_NE(by["signature of nvidia_current_drm"].detail.find("'someone-else'"), std::string::npos)
      << by["signature of nvidia_current_drm"].detail;
  // Without a signer nothing is asked of signatures (kvm-host builds, old callers).
  by = Verify(true, &rep);
  EXPECT_TRUE(rep.ok());
  EXPECT_FALSE(by.count("signature of nvidia_current_drm"));
}

TEST(ModuleSignerTest, CertificateNamesItsSignerAndBadFilesAreNamed) {
  TempDir dir;
  std::string cert = MakeCert(dir.path(), "gpuhost-image-db");
  auto s = verify::ReadModuleSigner(cert);
  ASSERT_TRUE(s.ok());
  // The serial as openssl prints it ("serial=65583..."), in libkmod's shape.
  std::string cmd = "openssl x509 -in '" + cert + "' -noout -serial > '" + dir.path() + "/serial'";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::ifstream in(dir.path() + "/serial");
  std::string line;
  std::getline(in, line);
  EXPECT_TRUE(verify::SameSerial(s->serial, line.substr(line.find('=') + 1)))
      << s->serial << " vs " << line;
  EXPECT_TRUE(verify::SameSerial("00:" + s->serial, s->serial)) << "DER's sign byte ignored";
  EXPECT_FALSE(verify::SameSerial("01:02", s->serial));
  auto missing = verify::ReadModuleSigner(dir.path() + "/none.crt");
  EXPECT_FALSE(missing.ok());
  EXPECT_NE(missing.status().ToString().find("none.crt"), std::string::npos);
  SysfsBuilder(dir.path()).Write("/junk.crt", "not a certificate\n");
  auto junk = verify::ReadModuleSigner(dir.path() + "/junk.crt");
  EXPECT_FALSE(junk.ok());
  EXPECT_NE(junk.status().ToString().find("junk.crt: not a PEM X.509 certificate"),
            std::string::npos);
}

}  // namespace
}  // namespace gpuhost::testing
