// Files: inputs sent inline or uploaded to Replicate's files API, output files found in a
// prediction's output and downloaded from the hosts allowed, named safely.
export * from './content-type';
export * from './download';
export * from './file-hosts';
export * from './file-inputs';
export * from './file-names';
export * from './output-files';
