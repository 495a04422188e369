// Stands for a dependency (drm_kms_helper, say): exports gh_dep_fn.
extern "C" {
int gh_dep_fn(int x) { return x + 1; }
// Exports are listed by name in __ksymtab_strings, where depmod reads them.
__attribute__((section("__ksymtab_strings"), used)) const char gh_dep_exports[] = "gh_dep_fn";
__attribute__((section(".modinfo"), used)) const char gh_dep_license[] = "license=GPL";
}
