#include <iostream>
#include <string>
#include <vector>

#include "commands.hpp"

namespace dockform::cli {

namespace {
// The fixed part: declared volume names from the manifest, the values of
// flags that take files or a choice, and the walk that finds the command.
constexpr const char* kHead =
    R"bash(# bash completion for dockform (made by `dockform completion bash` from its command line)
_dockform_volumes() {
  local config=""
  local i
  for ((i = 1; i < ${#COMP_WORDS[@]}; i++)); do
    case "${COMP_WORDS[i]}" in -c|--config) config="${COMP_WORDS[i+1]}";; esac
  done
  local file="${config:-.}"
  [ -d "$file" ] && for f in dockform.yml dockform.yaml Dockform.yml Dockform.yaml; do
    [ -f "$file/$f" ] && { file="$file/$f"; break; }
  done
  [ -f "$file" ] && awk '/^volumes:/ {v=1; next} /^[^ #]/ {v=0} v && /^  [a-z0-9_.-]+:/ {sub(":.*", ""); gsub(" ", ""); print}' "$file"
}
_dockform() {
  local cur prev words cword
  _init_completion 2>/dev/null || { cur="${COMP_WORDS[COMP_CWORD]}"; prev="${COMP_WORDS[COMP_CWORD-1]}"; }
  case "$prev" in
    -c|--config|--log-file|-o|--output|-R|--recipients-file|-i|--identity|--passphrase-file|--sidecar|--metrics-file)
      COMPREPLY=($(compgen -f -- "$cur")); return;;
    --log-level) COMPREPLY=($(compgen -W "debug info warn error" -- "$cur")); return;;
    --log-format) COMPREPLY=($(compgen -W "auto pretty json" -- "$cur")); return;;
    --webhook-on) COMPREPLY=($(compgen -W "failure always" -- "$cur")); return;;
  esac
)bash";

// Every flag of `command` as typed ("-o --output"), --help and --version left out.
std::string flags_of(const CLI::App& command) {
  std::string flags;
  for (const CLI::Option* option : command.get_options()) {
    if (option == command.get_help_ptr() || option == command.get_version_ptr() || !option->nonpositional()) continue;
    for (const std::string& name : option->get_snames()) flags += " -" + name;
    for (const std::string& name : option->get_lnames()) flags += " --" + name;
  }
  return flags;
}

// What a command's arguments complete to, by the positional's name.
std::string arguments_of(const CLI::App& command, bool& files, bool& folders) {
  std::string words;
  for (const CLI::Option* option : command.get_options()) {
    if (option->nonpositional()) continue;
    const std::string& name = option->get_name();
    if (name == "volume") words += " $(_dockform_volumes)";
    if (name == "snapshot") files = true;
    if (name == "dir") folders = true;
    if (name == "shell") words += " bash";
  }
  return words;
}

std::vector<const CLI::App*> subcommands_of(const CLI::App& app) {
  return app.get_subcommands([](const CLI::App*) { return true; });
}

std::string names_of(const std::vector<const CLI::App*>& commands, const std::string& separator) {
  std::string names;
  for (const CLI::App* command : commands) names += (names.empty() ? "" : separator) + command->get_name();
  return names;
}

// One branch of the case on "command/subcommand".
std::string branch(const std::string& key, const CLI::App& command) {
  bool files = false;
  bool folders = false;
  const std::string words = arguments_of(command, files, folders);
  const std::string flags = flags_of(command);
  std::string text = "    " + key + ") flags=\"" + (flags.empty() ? flags : flags.substr(1)) + "\"";
  if (const auto subs = subcommands_of(command); !subs.empty()) text += "; words=\"" + names_of(subs, " ") + "\"";
  if (!words.empty()) text += "; words=\"" + words.substr(1) + "\"";
  if (files) text += "; files=1";
  if (folders) text += "; folders=1";
  return text + ";;\n";
}

// The walk to the command and subcommand typed so far.
std::string find_command(const CLI::App& app) {
  std::string text =
      "  local cmd=\"\" sub=\"\" w\n  for w in \"${COMP_WORDS[@]:1:COMP_CWORD-1}\"; do\n    case \"$w\" in\n";
  text += "      " + names_of(subcommands_of(app), "|") + ") [ -z \"$cmd\" ] && cmd=\"$w\";;\n";
  text += "    esac\n    case \"$cmd/$w\" in\n";
  for (const CLI::App* command : subcommands_of(app)) {
    if (const auto subs = subcommands_of(*command); !subs.empty()) {
      text += "      " + command->get_name() + "/" + names_of(subs, "|" + command->get_name() + "/") +
              ") [ -z \"$sub\" ] && sub=\"$w\";;\n";
    }
  }
  return text + "    esac\n  done\n";
}

// Global flags complete after a command too (they are accepted there); -h
// and --help everywhere. Status 0 whatever the last test said: a caller under
// `set -e` (bash -e, as the package test runs it) must not end there.
constexpr const char* kTail = R"bash(  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$flags -h --help $global" -- "$cur"))
  else
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
    [ -n "$files" ] && COMPREPLY+=($(compgen -f -X '!*.tar?(.zst?(.age))' -- "$cur"))
    [ -n "$folders" ] && COMPREPLY+=($(compgen -d -- "$cur"))
  fi
  return 0
}
complete -F _dockform dockform
)bash";
}  // namespace

std::string bash_completion_script(const CLI::App& app) {
  std::string script = kHead;
  script += "  local global=\"" + flags_of(app).substr(1) + "\"\n";
  script += find_command(app);
  script += "  local flags=\"\" words=\"\" files=\"\" folders=\"\"\n  case \"$cmd/$sub\" in\n";
  script += "    /) flags=\"--version\"; words=\"" + names_of(subcommands_of(app), " ") + "\";;\n";
  for (const CLI::App* command : subcommands_of(app)) {
    const auto subs = subcommands_of(*command);
    script += branch(command->get_name() + "/", *command);
    for (const CLI::App* sub : subs) script += branch(command->get_name() + "/" + sub->get_name(), *sub);
  }
  return script + "  esac\n" + kTail;
}

void add_completion_command(CLI::App& app, CliState& state) {
  auto shell = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("completion", "Print a shell completion script: source <(dockform completion bash)");
  cmd->add_option("shell", *shell, "Shell (bash)")->required()->check(CLI::IsMember({"bash"}));
  // The callback owns the option's storage: CLI11 writes to it while parsing,
  // after this function returned. The app outlives the run (main() holds it).
  cmd->callback([&app, &state, shell] {
    state.run = [&app](core::Session&) {
      std::cout << bash_completion_script(app);
      return 0;
    };
  });
}

}  // namespace dockform::cli
