#include "test_support.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>

namespace fs = std::filesystem;

namespace elfprune::test {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base != nullptr ? base : "/tmp") + "/elfprune-test-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = fs::path(tmpl);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

fs::path TempDir::operator/(std::string_view inside) const {
  while (!inside.empty() && inside.front() == '/') inside.remove_prefix(1);
  return path_ / fs::path(inside);
}

void write_file(const fs::path& path, std::string_view content) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

void make_symlink(const fs::path& link, std::string_view target) {
  fs::create_directories(link.parent_path());
  fs::create_symlink(fs::path(target), link);
}

void copy_file(const fs::path& from, const fs::path& to) {
  fs::create_directories(to.parent_path());
  fs::copy_file(from, to, fs::copy_options::overwrite_existing);
}

fs::path fixtures_dir() {
  return fs::path(ELFPRUNE_FIXTURES_DIR);
}

std::string quoted(const fs::path& path) {
  std::string out;
  out.reserve(path.native().size() + 2);
  out.push_back('\'');
  out.append(path.native());
  out.push_back('\'');
  return out;
}

CommandResult run_command(const std::string& command) {
  CommandResult r;
  // On its own line so that a command ending in a here-document still ends.
  std::string full = "(" + command + "\n) 2>&1";
  FILE* pipe = ::popen(full.c_str(), "r");
  if (pipe == nullptr) return r;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) r.output.append(buf, n);
  int status = ::pclose(pipe);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

void compile_c(std::string_view source, const fs::path& out, std::string_view flags) {
  fs::create_directories(out.parent_path());
  const fs::path src = out.string() + ".c";
  write_file(src, source);
  const std::string cmd =
      "cc -o '" + out.string() + "' '" + src.string() + "' " + std::string(flags);
  CommandResult r = run_command(cmd);
  fs::remove(src);
  if (r.status != 0) throw std::runtime_error("compile failed: " + cmd + "\n" + r.output);
}

void make_glibc_root(const fs::path& root) {
  const fs::path multiarch = root / "usr/lib/x86_64-linux-gnu";
  fs::create_directories(multiarch);
  fs::create_directories(root / "lib64");
  fs::create_directories(root / "etc");
  fs::create_symlink("usr/lib", root / "lib");
  test::copy_file(fs::canonical("/lib64/ld-linux-x86-64.so.2"), multiarch / "ld-linux-x86-64.so.2");
  test::copy_file(fs::canonical("/lib/x86_64-linux-gnu/libc.so.6"), multiarch / "libc.so.6");
  fs::create_symlink("/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
                     root / "lib64/ld-linux-x86-64.so.2");
}

}  // namespace elfprune::test

namespace elfprune::test {

void retag_dynamic(const fs::path& file, std::int64_t from, std::int64_t to) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(f)), {});
  auto u16 = [&](std::size_t o) {
    std::uint16_t v;
    std::memcpy(&v, data.data() + o, 2);
    return v;
  };
  auto u64 = [&](std::size_t o) {
    std::uint64_t v;
    std::memcpy(&v, data.data() + o, 8);
    return v;
  };
  if (data.size() < 64 || data.compare(0, 6,
                                       std::string("\x7f"
                                                   "ELF\x02\x01",
                                                   6)) != 0) {
    throw std::runtime_error("retag_dynamic: not ELF64 LE: " + file.string());
  }
  const std::uint64_t phoff = u64(0x20);
  for (std::uint16_t i = 0; i < u16(0x38); ++i) {
    const std::size_t ph = phoff + std::size_t{i} * u16(0x36);
    std::uint32_t type;
    std::memcpy(&type, data.data() + ph, 4);
    if (type != 2) continue;  // PT_DYNAMIC
    const std::uint64_t off = u64(ph + 8), size = u64(ph + 32);
    for (std::uint64_t pos = off; pos + 16 <= off + size; pos += 16) {
      std::int64_t tag;
      std::memcpy(&tag, data.data() + pos, 8);
      if (tag == from) std::memcpy(data.data() + pos, &to, 8);
    }
  }
  f.seekp(0);
  f.write(data.data(), static_cast<std::streamsize>(data.size()));
}

}  // namespace elfprune::test
