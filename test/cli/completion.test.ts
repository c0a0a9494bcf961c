import { describe, expect, it } from 'vitest';
import { baseEnv, runCli, runCommand, tempHome } from './support/cli.js';

/** Runs the generated bash completion for the words typed so far (the last one being completed). */
async function complete(script: string, words: string[], cwd?: string): Promise<string[]> {
  const array = words.map((w) => `'${w}'`).join(' ');
  const program = `${script}\nCOMP_WORDS=(${array}); COMP_CWORD=${words.length - 1}; _envmgr; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const result = await runCommand('bash', ['-c', program], cwd ? { cwd } : {});
  expect(result.stderr).toBe('');
  return result.stdout.split('\n').filter(Boolean).sort();
}

const haveFish = (await runCommand('fish', ['-c', 'true']).catch(() => ({ code: 1 }))).code === 0;

describe('completion', () => {
  it('bash completes groups, nested verbs and options, skipping option values', async () => {
    const home = await tempHome();
    const { stdout: script, code } = await runCli(['completion', 'bash'], { env: baseEnv(home) });
    expect(code).toBe(0);
    expect(await complete(script, ['envmgr', 'wor'])).toEqual(['workspace']);
    const envWords = await complete(script, ['envmgr', 'env', '']);
    expect(envWords.filter((w) => !w.startsWith('-'))).toEqual(['airflow-variable', 'connection']);
    expect(envWords).toContain('--json');
    const afterValue = await complete(script, ['envmgr', 'env', 'connection', 'list', '-w', 'ws1', '--sh']);
    expect(afterValue).toEqual(['--show-secrets']);
    expect(await complete(script, ['envmgr', 'env', 'connection', 'link', ''])).toEqual(expect.arrayContaining(['create', 'delete']));
    // Aliases complete like their command; config keys after config get|set|unset; --help everywhere.
    expect(await complete(script, ['envmgr', 'env', 'connection', 'ls', '--sh'])).toEqual(['--show-secrets']);
    expect(await complete(script, ['envmgr', 'config', 'set', 'dev.w'])).toEqual(['dev.wait']);
    expect(await complete(script, ['envmgr', 'workspace', 'list', '--he'])).toEqual(['--help']);
  });

  it("bash completes an option's value: files, its words, or nothing for a free value; and completion's shells", async () => {
    const home = await tempHome();
    const { stdout: script } = await runCli(['completion', 'bash'], { env: baseEnv(home) });
    const { mkdir, writeFile } = await import('node:fs/promises');
    const dir = `${home}/project`;
    await mkdir(`${dir}/settings.d`, { recursive: true });
    await writeFile(`${dir}/airflow_settings.yaml`, '');
    await writeFile(`${dir}/airflow.env`, '');
    expect(await complete(script, ['envmgr', 'dev', 'start', '-s', 'air'], dir)).toEqual(['airflow.env', 'airflow_settings.yaml']);
    expect(await complete(script, ['envmgr', 'object', 'import', '--settings-file', 'sett'], dir)).toEqual(['settings.d']);
    expect(await complete(script, ['envmgr', 'env', 'connection', 'list', '--format', ''])).toEqual(['json', 'table', 'yaml']);
    expect(await complete(script, ['envmgr', 'object', 'import', '--on-conflict', ''])).toEqual(['fail', 'overwrite', 'skip']);
    expect(await complete(script, ['envmgr', 'object', 'export', '--serialization', 'j'])).toEqual(['json']);
    // A value nothing can be offered for: not the command's verbs and options, nor files.
    expect(await complete(script, ['envmgr', 'dev', 'start', '-d', ''], dir)).toEqual([]);
    expect(await complete(script, ['envmgr', 'env', 'connection', 'list', '-w', ''], dir)).toEqual([]);
    // After the value, the options again; a switch takes no value.
    expect(await complete(script, ['envmgr', 'dev', 'start', '-d', 'x', '--dry'])).toEqual(['--dry-run']);
    expect(await complete(script, ['envmgr', 'dev', 'start', '--dry-run', '--pr'])).toEqual(['--prune']);
    expect((await complete(script, ['envmgr', 'completion', ''])).filter((w) => !w.startsWith('-'))).toEqual(['bash', 'fish', 'zsh']);
    // config set KEY <TAB>: the key's values (files for a *_file key); config get KEY <TAB>: nothing.
    expect(await complete(script, ['envmgr', 'config', 'set', 'dev.prefer', ''])).toEqual(['local', 'remote']);
    expect(await complete(script, ['envmgr', 'config', 'set', '-g', 'disable_env_objects', 'f'])).toEqual(['false']);
    expect(await complete(script, ['envmgr', 'config', 'set', 'dev.settings_file', 'air'], dir)).toEqual(['airflow.env', 'airflow_settings.yaml']);
    expect(await complete(script, ['envmgr', 'config', 'set', 'dev.db_url', ''], dir)).toEqual([]);
    expect(await complete(script, ['envmgr', 'config', 'get', 'dev.prefer', ''], dir)).toEqual([]);
    // Once the key and its value are there, only options.
    const afterValue = await complete(script, ['envmgr', 'config', 'set', 'dev.prefer', 'local', '']);
    expect(afterValue.length).toBeGreaterThan(0);
    expect(afterValue.every((w) => w.startsWith('-'))).toBe(true);
    // A file name with a space is one candidate.
    await writeFile(`${dir}/my settings.yaml`, '');
    expect(await complete(script, ['envmgr', 'dev', 'start', '-s', 'my'], dir)).toEqual(['my settings.yaml']);
    // --opt=value, which bash splits at the =: the value is completed the same.
    expect(await complete(script, ['envmgr', 'env', 'connection', 'list', '--format', '='])).toEqual(['json', 'table', 'yaml']);
    expect(await complete(script, ['envmgr', 'env', 'connection', 'list', '--format', '=', 'y'])).toEqual(['yaml']);
    expect(await complete(script, ['envmgr', 'dev', 'start', '--settings-file', '=', 'air'], dir)).toEqual(['airflow.env', 'airflow_settings.yaml']);
    expect(await complete(script, ['envmgr', 'dev', 'start', '--deployment-id', '=', ''], dir)).toEqual([]);
  });

  it('zsh wraps the bash script; fish lists subcommands per parent; an unknown shell is a usage error', async () => {
    const home = await tempHome();
    const zsh = await runCli(['completion', 'zsh'], { env: baseEnv(home) });
    expect(zsh.stdout.startsWith('#compdef envmgr\n')).toBe(true);
    expect(zsh.stdout).toContain('bashcompinit');
    expect(zsh.stdout).toContain('# envmgr completion for zsh');
    expect(zsh.stdout).not.toContain('completion for bash');
    const fish = await runCli(['completion', 'fish'], { env: baseEnv(home) });
    expect(fish.stdout).toContain("complete -c envmgr -n 'test (__envmgr_path) = envmgr' -a login");
    expect(fish.stdout).toContain("complete -c envmgr -n 'test (__envmgr_path) = envmgr:env:connection' -a link");
    const bad = await runCli(['completion', 'tcsh'], { env: baseEnv(home) });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/valid shells: bash, zsh, fish/);
  });

  describe.skipIf(!haveFish)('fish (skipped: no fish on this machine; .ci/run installs it)', () => {
    it('completes each command path with its own verbs and options only', async () => {
      const home = await tempHome();
      const { stdout: script } = await runCli(['completion', 'fish'], { env: baseEnv(home) });
      const { writeFile } = await import('node:fs/promises');
      const file = `${home}/envmgr.fish`;
      await writeFile(file, script);
      const offered = async (line: string) => {
        const result = await runCommand('fish', ['-c', `source ${file}; complete -C '${line}'`]);
        expect(result.stderr).toBe('');
        return result.stdout.split('\n').filter(Boolean).map((l) => l.split('\t')[0]!).sort();
      };
      expect(await offered('envmgr wor')).toEqual(['workspace']);
      expect(await offered('envmgr --json env connection link ')).toEqual(['create', 'delete']);
      // `set` under config is not `set` under server admin, and a verb's options are its own.
      const configSet = await offered('envmgr config set ');
      expect(configSet).toContain('dev.wait');
      expect(configSet).not.toContain('organization');
      expect(await offered('envmgr server admin set ')).toEqual(['organization']);
      const listOptions = await offered('envmgr env connection list --');
      expect(listOptions).toContain('--resolve-linked');
      expect(listOptions).not.toContain('--password-stdin');
      // Option values: files, an option's words, nothing for a free value.
      const { mkdir } = await import('node:fs/promises');
      await mkdir(`${home}/proj`, { recursive: true });
      await writeFile(`${home}/proj/airflow_settings.yaml`, '');
      const inProject = async (line: string) => {
        const result = await runCommand('fish', ['-c', `cd ${home}/proj; source ${file}; complete -C '${line}'`]);
        expect(result.stderr).toBe('');
        return result.stdout.split('\n').filter(Boolean).map((l) => l.split('\t')[0]!).sort();
      };
      expect(await inProject('envmgr dev start -s air')).toEqual(['airflow_settings.yaml']);
      expect(await inProject('envmgr dev start --settings-file air')).toEqual(['airflow_settings.yaml']);
      expect(await offered('envmgr env connection list --format ')).toEqual(['json', 'table', 'yaml']);
      expect(await inProject('envmgr dev start -d ')).toEqual([]);
      expect(await offered('envmgr completion ')).toEqual(['bash', 'fish', 'zsh']);
      expect(await offered('envmgr config set dev.prefer ')).toEqual(['local', 'remote']);
      expect(await inProject('envmgr config set dev.settings_file air')).toEqual(['airflow_settings.yaml']);
      expect(await offered('envmgr config get dev.prefer ')).toEqual([]);
      expect(await offered('envmgr config set dev.prefer local ')).toEqual([]);
    });
  });
});
