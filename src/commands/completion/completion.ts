import type { Command } from 'commander';
import type { Context } from '../../cli/context.js';
import { UsageError } from '../../cli/errors.js';
import { SETTINGS } from '../../config/registry.js';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

export interface CompletionOptions {
  shell: string;
}

export function registerCompletionCommand(program: Command, ctx: Context): void {
  program
    .command('completion')
    .description('print a shell completion script, e.g. `envmgr completion bash > /etc/bash_completion.d/envmgr`')
    .argument('<shell>', SHELLS.join(', '))
    .action((shell: string) => {
      runCompletion(ctx, program, { shell });
    });
}

export function runCompletion(ctx: Context, program: Command, opts: CompletionOptions): void {
  if (!SHELLS.includes(opts.shell as Shell)) throw new UsageError(`unsupported shell "${opts.shell}"; valid shells: ${SHELLS.join(', ')}`);
  ctx.io.out(completionScript(opts.shell as Shell, commandTree(program)));
}

/** One node per command path (`env:connection:link`): its subcommands and its long options. */
export interface TreeNode {
  path: string[];
  subcommands: string[];
  options: string[];
}

/** Words a command takes as its argument, offered like subcommands: the config keys for config get|set|unset. */
const ARGUMENT_WORDS: Record<string, () => string[]> = {
  'config:get': configKeys,
  'config:set': configKeys,
  'config:unset': configKeys,
};

function configKeys(): string[] {
  return SETTINGS.map((s) => s.key);
}

export function commandTree(program: Command): TreeNode[] {
  const nodes: TreeNode[] = [];
  const globals = program.options.map((o) => o.long).filter((l): l is string => Boolean(l));
  const visible = (command: Command) => command.commands.filter((c) => !(c as unknown as { _hidden?: boolean })._hidden);
  const walk = (command: Command, path: string[]) => {
    const subcommands = visible(command).map((c) => c.name());
    const options = [...command.options.map((o) => o.long).filter((l): l is string => Boolean(l)), '--help'];
    const words = ARGUMENT_WORDS[path.join(':')]?.() ?? [];
    nodes.push({ path, subcommands: [...subcommands, ...words], options: path.length === 0 ? options : [...options, ...globals] });
    // An alias (`ls` for `list`) is a path of its own, completed like its command.
    for (const sub of visible(command)) for (const name of [sub.name(), ...sub.aliases()]) walk(sub, [...path, name]);
  };
  walk(program, []);
  return nodes;
}

export function completionScript(shell: Shell, tree: TreeNode[]): string {
  if (shell === 'fish') return fishScript(tree);
  const bash = bashScript(tree);
  if (shell === 'bash') return bash;
  return `#compdef envmgr\nautoload -U +X bashcompinit && bashcompinit\n${bash}`;
}

function bashScript(tree: TreeNode[]): string {
  const keys = tree.map((n) => n.path.join(':'));
  const cases = tree.map((n) => `    '${n.path.join(':')}') words='${[...n.subcommands, ...n.options].join(' ')}' ;;`).join('\n');
  return `# envmgr completion for bash (source it, or put it in your bash_completion.d)
_envmgr() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" path="" w i words=""
  local keys=' ${keys.map((k) => `|${k}|`).join(' ')} '
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    [[ $w == -* ]] && continue
    local candidate="\${path:+$path:}$w"
    [[ $keys == *" |$candidate| "* ]] && path="$candidate"
  done
  case "$path" in
${cases}
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F _envmgr envmgr
`;
}

/**
 * fish: `__envmgr_path` walks the words typed so far as the bash script does (options skipped, each word taken when
 * it extends a known command path), and each completion applies at exactly one path, so `config set <TAB>` offers
 * nothing of `server admin set`, and each command offers its own options only.
 */
function fishScript(tree: TreeNode[]): string {
  const key = (n: TreeNode) => ['envmgr', ...n.path].join(':');
  const lines = [
    '# envmgr completion for fish (save as ~/.config/fish/completions/envmgr.fish)',
    'complete -c envmgr -f',
    `set -g __envmgr_paths ${tree.map(key).join(' ')}`,
    'function __envmgr_path',
    '    set -l path envmgr',
    '    for w in (commandline -opc)[2..-1]',
    "        string match -q -- '-*' $w; and continue",
    '        contains -- $path:$w $__envmgr_paths; and set path $path:$w',
    '    end',
    '    echo $path',
    'end',
  ];
  for (const node of tree) {
    const at = `-n 'test (__envmgr_path) = ${key(node)}'`;
    for (const sub of node.subcommands) lines.push(`complete -c envmgr ${at} -a ${sub}`);
    for (const option of node.options) lines.push(`complete -c envmgr ${at} -l ${option.replace(/^--/, '')}`);
  }
  return lines.join('\n') + '\n';
}
