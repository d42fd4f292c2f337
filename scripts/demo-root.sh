#!/usr/bin/env bash
# Lay out the demo's example root in DIR: a small program with a library, a
# data file it names, a wrapper script, and the build-only leftovers a real
# image carries (headers, a static library, docs, man pages, translations,
# an unrelated program). Built from tiny C sources with the system compiler.
set -euo pipefail
dir=${1:?usage: demo-root.sh DIR}
rm -rf "$dir"
mkdir -p "$dir"/{usr/bin,usr/lib/x86_64-linux-gnu,usr/include,lib64,etc,tmp,proc,dev}
multiarch=$dir/usr/lib/x86_64-linux-gnu
ln -s usr/lib "$dir/lib"
ln -s usr/bin "$dir/bin"
cp "$(readlink -f /lib64/ld-linux-x86-64.so.2)" "$multiarch/ld-linux-x86-64.so.2"
cp "$(readlink -f /lib/x86_64-linux-gnu/libc.so.6)" "$multiarch/libc.so.6"
ln -s /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$dir/lib64/ld-linux-x86-64.so.2"
cp "$(readlink -f /bin/dash)" "$dir/usr/bin/dash"
ln -s dash "$dir/usr/bin/sh"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/greet.c" <<'C'
#include <stdio.h>
const char *greeting_file = "/usr/share/hello/greeting.txt";
void greet(void) {
  char line[128] = "";
  FILE *f = fopen(greeting_file, "r");
  if (f && fgets(line, sizeof line, f)) fputs(line, stdout);
  if (f) fclose(f);
}
C
cat >"$work/hello.c" <<'C'
void greet(void);
int main(void) { greet(); return 0; }
C
cc -shared -fPIC -Wl,-soname,libgreet.so.1 -o "$multiarch/libgreet.so.1.0.0" "$work/greet.c"
ln -s libgreet.so.1.0.0 "$multiarch/libgreet.so.1"
ln -s libgreet.so.1 "$multiarch/libgreet.so"
cc -o "$dir/usr/bin/hello" "$work/hello.c" "$multiarch/libgreet.so.1.0.0"
cc -c -o "$work/greet.o" "$work/greet.c" && ar rcs "$multiarch/libgreet.a" "$work/greet.o"
echo 'int main(void) { return 0; }' >"$work/unused.c"
cc -o "$dir/usr/bin/unused" "$work/unused.c"

mkdir -p "$dir/usr/share/hello" "$dir/usr/share/doc/hello" "$dir/usr/share/man/man1" \
  "$dir/usr/share/locale/de/LC_MESSAGES" "$multiarch/pkgconfig"
echo "hello from the pruned tree" >"$dir/usr/share/hello/greeting.txt"
printf '#!/bin/sh\nexec /usr/bin/hello "$@"\n' >"$dir/usr/bin/hello-wrapper"
chmod +x "$dir/usr/bin/hello-wrapper"
echo 'void greet(void);' >"$dir/usr/include/greet.h"
printf 'Name: greet\nLibs: -lgreet\n' >"$multiarch/pkgconfig/greet.pc"
head -c 20000 /dev/zero | tr '\0' 'd' >"$dir/usr/share/doc/hello/README"
echo "Copyright: the demo authors" >"$dir/usr/share/doc/hello/copyright"
head -c 5000 /dev/zero | gzip -9 >"$dir/usr/share/man/man1/hello.1.gz"
head -c 30000 /dev/zero | tr '\0' 'm' >"$dir/usr/share/locale/de/LC_MESSAGES/hello.mo"
