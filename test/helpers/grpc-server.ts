/** Serve gRPC services on 127.0.0.1:0 for a test; `close()` always shuts the server down. */
import { Server, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { bindServer, shutdownServer } from '../../shared/grpc.js';

export interface TestGrpcServer {
  address: string;
  server: Server;
  close(): Promise<void>;
}

export async function serveGrpc(
  services: Array<[ServiceDefinition, UntypedServiceImplementation]>,
): Promise<TestGrpcServer> {
  const server = new Server();
  for (const [def, impl] of services) server.addService(def, impl);
  const port = await bindServer(server, '127.0.0.1:0');
  let closed = false;
  return {
    address: `127.0.0.1:${port}`,
    server,
    close: async () => {
      if (closed) return;
      closed = true;
      await shutdownServer(server, 500);
    },
  };
}
