#!/usr/bin/env python3
"""docs/prometheus/scrape.yml as Prometheus would load it: `promtool check config` on a copy laid
out as /etc/prometheus would be (prometheus.yml beside gpuhost/{ca.crt,token,rules.yml,targets/}),
so the files it names exist and are read: the token file, the rule file (checked with it) and the
file_sd targets (docs/prometheus/targets.yml, parsed). promtool warns and still succeeds when a
file_sd pattern matches nothing; here a warning is a failure. Run by ctest
(report.prometheus_config)."""
import os
import shutil
import subprocess
import sys
import tempfile

DOCS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "prometheus")


def lay_out(etc):
    gpuhost = os.path.join(etc, "gpuhost")
    os.makedirs(os.path.join(gpuhost, "targets"))
    shutil.copy(os.path.join(DOCS, "scrape.yml"), os.path.join(etc, "prometheus.yml"))
    shutil.copy(os.path.join(DOCS, "rules.yml"), os.path.join(gpuhost, "rules.yml"))
    shutil.copy(os.path.join(DOCS, "targets.yml"), os.path.join(gpuhost, "targets", "example.yml"))
    with open(os.path.join(gpuhost, "token"), "w") as f:
        f.write("0123456789abcdef\n")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", os.path.join(etc, "ca.key"), "-out",
                    os.path.join(gpuhost, "ca.crt"), "-days", "2", "-subj", "/CN=gpuhost-test-ca"],
                   check=True, capture_output=True)


def check(etc):
    # promtool resolves the relative paths against the config's directory, as Prometheus does.
    p = subprocess.run(["promtool", "check", "config", os.path.join(etc, "prometheus.yml")],
                       capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def main():
    if shutil.which("promtool") is None:
        print("promtool missing: apt-get install prometheus (the Makefile's BUILD_DEPS)")
        return 1
    with tempfile.TemporaryDirectory() as etc:
        lay_out(etc)
        rc, out = check(etc)
        print(out)
        if rc != 0 or "WARNING" in out or "rules found" not in out:
            print("FAIL: scrape.yml does not check clean")
            return 1
        # The check reads the files: without the token it must fail, or it proves nothing.
        os.unlink(os.path.join(etc, "gpuhost", "token"))
        rc, out = check(etc)
        if rc == 0:
            print("FAIL: promtool accepted the config without its token file:\n" + out)
            return 1
    print("PASS: docs/prometheus/scrape.yml checks clean with its rules and targets")
    return 0


if __name__ == "__main__":
    sys.exit(main())
