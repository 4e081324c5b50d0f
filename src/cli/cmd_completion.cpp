#include <iostream>

#include "commands.hpp"

namespace dockform::cli {

namespace {
// Completes commands, flags, declared volume names and snapshot files.
constexpr const char* kBashCompletion = R"bash(# bash completion for dockform
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
  local global="-c --config --log-level --log-format --log-file --no-color -v --verbose --helper-image --help --version"
  case "$prev" in
    -c|--config|--log-file|-o|--output|-R|--recipients-file|-i|--identity|--passphrase-file|--sidecar)
      COMPREPLY=($(compgen -f -- "$cur")); return;;
    --log-level) COMPREPLY=($(compgen -W "debug info warn error" -- "$cur")); return;;
    --log-format) COMPREPLY=($(compgen -W "auto pretty json" -- "$cur")); return;;
  esac
  local cmd="" sub="" w
  for w in "${COMP_WORDS[@]:1:COMP_CWORD-1}"; do
    case "$w" in
      version|validate|plan|apply|volume|repo|completion) [ -z "$cmd" ] && cmd="$w";;
      snapshot|restore|list|verify|ls|extract|prune|unlock|copy|export) [ "$cmd" = volume ] && [ -z "$sub" ] && sub="$w";;
      init|stats) [ "$cmd" = repo ] && [ -z "$sub" ] && sub="$w";;
    esac
  done
  case "$cmd/$sub" in
    /) COMPREPLY=($(compgen -W "version validate plan apply volume repo completion $global" -- "$cur"));;
    volume/) COMPREPLY=($(compgen -W "snapshot restore list verify ls extract prune unlock copy export" -- "$cur"));;
    volume/export) COMPREPLY=($(compgen -W "-o --output --json" -- "$cur") $(compgen -f -X '!*.tar?(.zst?(.age))' -- "$cur"));;
    repo/) COMPREPLY=($(compgen -W "init stats" -- "$cur"));;
    repo/init) COMPREPLY=($(compgen -d -- "$cur"));;
    repo/stats) COMPREPLY=($(compgen -W "--json" -- "$cur") $(compgen -d -- "$cur"));;
    volume/copy) COMPREPLY=($(compgen -W "--to --as --force --stop-containers --stop-timeout --no-privileged-bits --level --json --ping --webhook --webhook-on --metrics-file --metrics-push $(_dockform_volumes)" -- "$cur"));;
    volume/snapshot) COMPREPLY=($(compgen -W "--all -o --output --note --level --stop-containers --stop-timeout --hook-timeout --exclude --if-changed -r --recipient -R --recipients-file --passphrase-file --sidecar --json --ping --webhook --webhook-on --metrics-file --metrics-push $(_dockform_volumes)" -- "$cur"));;
    volume/restore)
      if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "--force --stop-containers --stop-timeout --no-privileged-bits -i --identity --passphrase-file --sidecar --json --ping --webhook --webhook-on --metrics-file --metrics-push" -- "$cur"))
      else COMPREPLY=($(compgen -W "$(_dockform_volumes)" -- "$cur") $(compgen -f -X '!*.tar?(.zst?(.age))' -- "$cur")); fi;;
    volume/list) COMPREPLY=($(compgen -W "-o --output --max-age --json $(_dockform_volumes)" -- "$cur"));;
    volume/verify) COMPREPLY=($(compgen -W "-i --identity --passphrase-file --sidecar --json" -- "$cur") $(compgen -f -X '!*.tar?(.zst?(.age))' -- "$cur"));;
    volume/ls) COMPREPLY=($(compgen -W "-l --long -i --identity --passphrase-file --json" -- "$cur") $(compgen -f -X '!*.tar?(.zst?(.age))' -- "$cur"));;
    volume/extract) COMPREPLY=($(compgen -W "-o --output -i --identity --passphrase-file" -- "$cur") $(compgen -f -X '!*.tar?(.zst?(.age))' -- "$cur"));;
    volume/prune) COMPREPLY=($(compgen -W "--all -o --output --keep-last --keep-daily --keep-weekly --keep-monthly --dry-run --json --ping --webhook --webhook-on --metrics-file --metrics-push $(_dockform_volumes)" -- "$cur"));;
    volume/unlock) COMPREPLY=($(compgen -W "--force --json $(_dockform_volumes)" -- "$cur"));;
    version/|validate/|plan/|apply/) COMPREPLY=($(compgen -W "--json" -- "$cur"));;
    completion/*) COMPREPLY=($(compgen -W "bash" -- "$cur"));;
  esac
}
complete -F _dockform dockform
)bash";
}  // namespace

const char* bash_completion_script() { return kBashCompletion; }

void add_completion_command(CLI::App& app, CliState& state) {
  auto shell = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("completion", "Print a shell completion script: source <(dockform completion bash)");
  cmd->add_option("shell", *shell, "Shell (bash)")->required()->check(CLI::IsMember({"bash"}));
  // The callback owns the option's storage: CLI11 writes to it while parsing,
  // after this function returned.
  cmd->callback([&state, shell] {
    state.run = [](core::Session&) {
      std::cout << bash_completion_script();
      return 0;
    };
  });
}

}  // namespace dockform::cli
