#include "util/result.hpp"

#include <cctype>
#include <cerrno>
#include <cstring>

namespace elfprune {

std::string errno_text(int err) {
  switch (err) {
    case ENOENT:
      return "no such file or directory";
    case ENOTDIR:
      return "not a directory";
    case ELOOP:
      return "too many levels of symbolic links";
    case EACCES:
      return "permission denied";
    case ENAMETOOLONG:
      return "file name too long";
    default: {
      std::string s = std::strerror(err);
      if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
      return s;
    }
  }
}

}  // namespace elfprune
