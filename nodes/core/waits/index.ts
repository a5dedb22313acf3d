// Waits that outlive their node: handed to its successor on redeploy, saved in a context store
// for a restart (the message within a size limit), each resumed and sent once.
export * from './saved-message';
export * from './wait-store';
export * from './handover';
export * from './seen-store';
