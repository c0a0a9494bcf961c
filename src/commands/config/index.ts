import type { Command } from 'commander';
import type { Context } from '../../cli/context.js';
import { registerConfigGet } from './get.js';
import { registerConfigList } from './list.js';
import { registerConfigSet } from './set.js';
import { registerConfigUnset } from './unset.js';

export function registerConfig(program: Command, ctx: Context): void {
  const config = program.command('config').description('project (.envmgr/config.yaml) and global (-g) settings');
  registerConfigGet(config, ctx);
  registerConfigSet(config, ctx);
  registerConfigUnset(config, ctx);
  registerConfigList(config, ctx);
}
