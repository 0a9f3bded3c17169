/**
 * topology: the deployment derived from a validated config — bucket, queue and prefix names,
 * and the model of which region holds what and which router owns which (rule, destination).
 */
export * from './names';
export * from './model';
