// What an image's config says will run, as prune entries: Entrypoint[0]
// (or Cmd[0]) on the config's PATH, arguments that name files, the shell
// form's shell and command, WorkingDir and path-valued variables
// (LAMBDA_TASK_ROOT, NODE_PATH, PYTHONPATH) as application directories.
// Each entry says where it came from; what cannot be an entry (a Lambda
// handler name such as `index.handler`) is a note, not an error.
#pragma once

#include <string>
#include <vector>

#include "image/image_source.hpp"
#include "tree/root.hpp"

namespace elfprune {

struct ConfigEntry {
  std::string path;  // absolute, inside the image
  std::string from;  // "Entrypoint[0]", "Cmd[1]", "WorkingDir", "Env LAMBDA_TASK_ROOT", ...
};

struct ConfigEntries {
  std::vector<ConfigEntry> entries;
  std::vector<std::string> notes;
};

ConfigEntries entries_from_config(const ImageRunConfig& run, const Root& root);

}  // namespace elfprune
