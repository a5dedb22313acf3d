// What the nodes read: their settings as the editor saved them (zod schemas) and the fields of a msg.
export * from './node-settings';
export * from './message-fields';
