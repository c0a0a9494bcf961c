import type { Command, Option } from 'commander';
import type { Context } from '../../cli/context.js';
import { UsageError } from '../../cli/errors.js';
import { SETTINGS } from '../../config/registry.js';
import { ORGANIZATION_ROLES } from '../../server/roles.js';
import { OUTPUT_FORMATS } from '../shared/output.js';

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

/** What an option takes: nothing (a switch), a file, one of some words, or a value nothing can be offered for. */
export type OptionValue = { kind: 'switch' } | { kind: 'file' } | { kind: 'words'; words: readonly string[] } | { kind: 'value' };

export interface TreeOption {
  /** The long flag (`--settings-file`) and the short one if any (`-s`). */
  long: string;
  short?: string;
  value: OptionValue;
}

/** One node per command path (`env:connection:link`): its subcommands (and argument words) and its options. */
export interface TreeNode {
  path: string[];
  subcommands: string[];
  options: TreeOption[];
  /** What follows an argument word (config set dev.prefer → local, remote): completed like an option's value. */
  afterWords?: Array<{ word: string; value: OptionValue }>;
}

/** The value of each config key after config set (its allowed values, files for *_file keys); nothing after get/unset. */
function configValues(set: boolean): Array<{ word: string; value: OptionValue }> {
  return SETTINGS.map((s) => ({
    word: s.key,
    value: !set ? { kind: 'value' as const } : s.allowed ? { kind: 'words' as const, words: s.allowed } : s.key.endsWith('_file') ? { kind: 'file' as const } : { kind: 'value' as const },
  }));
}

const AFTER_WORDS: Record<string, () => Array<{ word: string; value: OptionValue }>> = {
  'config:set': () => configValues(true),
  'config:get': () => configValues(false),
  'config:unset': () => configValues(false),
};

/** Words a command takes as its argument, offered like subcommands: the config keys for config get|set|unset. */
const ARGUMENT_WORDS: Record<string, () => readonly string[]> = {
  'config:get': configKeys,
  'config:set': configKeys,
  'config:unset': configKeys,
  completion: () => SHELLS,
};

/** Values of options that check them themselves (their own message), by long flag. */
const VALUE_WORDS: Record<string, readonly string[]> = {
  '--format': OUTPUT_FORMATS,
  '--organization-role': ORGANIZATION_ROLES,
};

/** Value placeholders that name a file (`<file>`, `<path>`). */
const FILE_VALUE = /<(file|path)>/;

function configKeys(): string[] {
  return SETTINGS.map((s) => s.key);
}

function optionOf(option: Option): TreeOption | null {
  if (!option.long) return null;
  const takes = option.required || option.optional;
  const choices = (option as Option & { argChoices?: readonly string[] }).argChoices;
  const value: OptionValue = !takes
    ? { kind: 'switch' }
    : choices
      ? { kind: 'words', words: choices }
      : VALUE_WORDS[option.long]
        ? { kind: 'words', words: VALUE_WORDS[option.long]! }
        : FILE_VALUE.test(option.flags)
          ? { kind: 'file' }
          : { kind: 'value' };
  return { long: option.long, ...(option.short ? { short: option.short } : {}), value };
}

export function commandTree(program: Command): TreeNode[] {
  const nodes: TreeNode[] = [];
  const optionsOf = (command: Command) => command.options.map(optionOf).filter((o): o is TreeOption => o !== null);
  const globals = optionsOf(program);
  const help: TreeOption = { long: '--help', short: '-h', value: { kind: 'switch' } };
  const visible = (command: Command) => command.commands.filter((c) => !(c as unknown as { _hidden?: boolean })._hidden);
  const walk = (command: Command, path: string[]) => {
    const subcommands = visible(command).map((c) => c.name());
    const options = [...optionsOf(command), help];
    const words = ARGUMENT_WORDS[path.join(':')]?.() ?? [];
    const afterWords = AFTER_WORDS[path.join(':')]?.();
    nodes.push({ path, subcommands: [...subcommands, ...words], options: path.length === 0 ? options : [...options, ...globals], ...(afterWords ? { afterWords } : {}) });
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
  // zsh runs the bash script through bashcompinit: source it from ~/.zshrc (after compinit).
  return `#compdef envmgr\n# envmgr completion for zsh (source it from ~/.zshrc after compinit: it runs the bash completion through bashcompinit)\nautoload -U +X bashcompinit && bashcompinit\n${bash.replace(/^# envmgr completion for bash[^\n]*\n/, '')}`;
}

/** The bash case patterns of the options of a node that take a value of some kind (`-s|--settings-file`). */
function flagsPattern(options: readonly TreeOption[]): string {
  return options.flatMap((o) => (o.short ? [o.short, o.long] : [o.long])).join('|');
}

/**
 * bash: the words typed so far are walked (options skipped, each word taken when it extends a known command path);
 * after an option that takes a value, its value is completed (files, or its words) or nothing is offered, instead of
 * the command's verbs and options.
 */
function bashScript(tree: TreeNode[]): string {
  const keys = tree.map((n) => n.path.join(':'));
  const cases = tree.map((n) => {
    // An argument word's value is completed like an option's: both are the word before the one completed.
    const takers: TreeOption[] = [...n.options, ...(n.afterWords ?? []).map((w) => ({ long: w.word, value: w.value }))];
    const byKind = (kind: OptionValue['kind']) => takers.filter((o) => o.value.kind === kind);
    const values: string[] = [];
    const files = byKind('file');
    if (files.length > 0) values.push(`        ${flagsPattern(files)}) compopt -o filenames 2>/dev/null; local IFS=$'\\n'; COMPREPLY=($(compgen -f -- "$cur")); return ;;`);
    for (const o of byKind('words')) {
      values.push(`        ${flagsPattern([o])}) COMPREPLY=($(compgen -W '${(o.value as { words: readonly string[] }).words.join(' ')}' -- "$cur")); return ;;`);
    }
    const others = byKind('value');
    if (others.length > 0) values.push(`        ${flagsPattern(others)}) COMPREPLY=(); return ;;`);
    const options = n.options.map((o) => o.long).join(' ');
    const words = [...n.subcommands, options].join(' ').trim();
    // A command whose argument is one of its words (config set KEY VALUE): once it is given, only options follow.
    const assign = n.afterWords ? `[[ $args -ge 1 ]] && words='${options}' || words='${words}'` : `words='${words}'`;
    const prev = values.length > 0 ? `\n      case "$prev" in\n${values.join('\n')}\n      esac` : '';
    return `    '${n.path.join(':')}')${prev}\n      ${assign} ;;`;
  }).join('\n');
  return `# envmgr completion for bash (source it, or put it in your bash_completion.d)
_envmgr() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" path="" w i words="" args=0
  # --opt=value: bash splits at the =, so the option is one word further back (and a lone = is nothing typed yet).
  if [[ $cur == "=" ]]; then cur=""; elif [[ $prev == "=" ]]; then prev="\${COMP_WORDS[COMP_CWORD-2]}"; fi
  local keys=' ${keys.map((k) => `|${k}|`).join(' ')} '
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    [[ $w == -* ]] && continue
    local candidate="\${path:+$path:}$w"
    if [[ $keys == *" |$candidate| "* ]]; then path="$candidate"; args=0; else ((args++)); fi
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
 * nothing of `server admin set`, and each command offers its own options only. An option's value is a file (-F), one
 * of its words, or something nothing is offered for (-x).
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
    'function __envmgr_prev',
    '    set -l words (commandline -opc)',
    '    echo $words[-1]',
    'end',
    'function __envmgr_any',
    '    for w in (commandline -opc)[2..-1]',
    '        contains -- $w $argv; and return 0',
    '    end',
    '    return 1',
    'end',
  ];
  for (const node of tree) {
    const at = `-n 'test (__envmgr_path) = ${key(node)}'`;
    const after = node.afterWords ?? [];
    // Argument words are offered until one is given (config set dev.prefer <TAB> offers its values, then nothing).
    const once = after.length > 0 ? `-n 'test (__envmgr_path) = ${key(node)}; and not __envmgr_any ${after.map((w) => w.word).join(' ')}'` : at;
    for (const sub of node.subcommands) lines.push(`complete -c envmgr ${once} -a ${sub}`);
    for (const { word, value } of after) {
      const when = `-n 'test (__envmgr_path) = ${key(node)}; and test (__envmgr_prev) = ${word}'`;
      if (value.kind === 'words') lines.push(`complete -c envmgr ${when} -a '${value.words.join(' ')}'`);
      else if (value.kind === 'file') lines.push(`complete -c envmgr ${when} -F`);
    }
    for (const option of node.options) {
      const flags = `-l ${option.long.replace(/^--/, '')}${option.short ? ` -s ${option.short.replace(/^-/, '')}` : ''}`;
      const value = option.value;
      const takes = value.kind === 'file' ? ' -r -F' : value.kind === 'words' ? ` -x -a '${value.words.join(' ')}'` : value.kind === 'value' ? ' -x' : '';
      lines.push(`complete -c envmgr ${at} ${flags}${takes}`);
    }
  }
  return lines.join('\n') + '\n';
}
