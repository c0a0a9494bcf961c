export { Settings, resolveSetting, type ContextEntry, type ResolvedSetting, type SettingSource } from './settings.js';
export { SETTINGS, findSetting, envVarFor, parseDuration, type SettingDefinition } from './registry.js';
export { envmgrHome, findProjectDir, writeFileAtomic, readOptional } from './files.js';
