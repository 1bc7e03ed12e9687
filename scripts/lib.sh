# Shared by scripts/demo, scripts/test and scripts/bench: where we are, and
# installing what is missing (Debian 12, as root).

WT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export WT_ROOT

# Debian packages needed to build and test.
WT_BUILD_PACKAGES="build-essential cmake pkg-config libpcap-dev libjansson-dev libcriterion-dev"
WT_TEST_PACKAGES="clang libclang-rt-14-dev tshark tcpdump python3 python3-scapy python3-jsonschema iproute2 time"

# wt_install PKG...: installs the packages that are not installed yet.
wt_install() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	((${#missing[@]})) || return 0
	if [[ $(id -u) -ne 0 ]]; then
		echo "wiretale: missing packages: ${missing[*]} (run as root, or install them)" >&2
		return 1
	fi
	echo "wiretale: installing ${missing[*]}" >&2
	# tshark asks whether non-root users may capture: answer no, quietly.
	echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null || true
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
