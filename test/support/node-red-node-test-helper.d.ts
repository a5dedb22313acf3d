declare module 'node-red-node-test-helper' {
  import type { Express } from 'express';
  import type supertest from 'supertest';

  type NodeModule = (RED: any) => void | Promise<void>;
  interface Helper {
    init(runtimePath: string, userSettings?: Record<string, unknown>): void;
    settings(userSettings?: Record<string, unknown>): Record<string, unknown>;
    load(nodes: NodeModule | NodeModule[], flow: object[], credentials?: Record<string, object>): Promise<void>;
    unload(): Promise<void>;
    setFlows(flow: object[], type?: 'full' | 'flows' | 'nodes', credentials?: Record<string, object>): Promise<void>;
    getNode(id: string): any;
    clearFlows(): Promise<void>;
    request(): supertest.SuperTest<supertest.Test>;
    startServer(): Promise<void>;
    stopServer(): Promise<void>;
    url(): string;
    log(): { args: unknown[][] };
    _httpAdmin: Express;
  }
  const helper: Helper;
  export = helper;
}
