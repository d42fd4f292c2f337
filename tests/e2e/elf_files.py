"""Find the dynamic ELF files of a root: regular files (symlinks are not
followed, so each file is named once, by its real path) with a PT_DYNAMIC
segment. A stdlib reader of the ELF header and program headers."""
import os
import struct

PT_DYNAMIC = 2


def has_dynamic(path):
    """True for an ELF file with a PT_DYNAMIC program header."""
    try:
        with open(path, "rb") as f:
            ident = f.read(64)
            if len(ident) < 52 or ident[:4] != b"\x7fELF" or ident[4] not in (1, 2):
                return False
            end = "<" if ident[5] == 1 else ">"
            if ident[4] == 2:  # ELFCLASS64
                phoff, = struct.unpack_from(end + "Q", ident, 0x20)
                phentsize, phnum = struct.unpack_from(end + "HH", ident, 0x36)
            else:
                phoff, = struct.unpack_from(end + "I", ident, 0x1c)
                phentsize, phnum = struct.unpack_from(end + "HH", ident, 0x2a)
            for i in range(phnum):
                f.seek(phoff + i * phentsize)
                raw = f.read(4)
                if len(raw) == 4 and struct.unpack(end + "I", raw)[0] == PT_DYNAMIC:
                    return True
    except OSError:
        pass
    return False


def dynamic_elf_files(root):
    """Sorted paths inside `root` of its dynamic ELF files."""
    found = []
    for top, dirs, files in os.walk(root):  # never descends into symlinked dirs
        if top == root:  # kernel file systems: empty in a root, skip anyway
            dirs[:] = [d for d in dirs if d not in ("proc", "sys", "dev")]
        for name in files:
            host = os.path.join(top, name)
            if not os.path.islink(host) and os.path.isfile(host) and has_dynamic(host):
                found.append("/" + os.path.relpath(host, root))
    return sorted(found)
