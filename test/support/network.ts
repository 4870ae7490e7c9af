// A real network fault between one Kafka client and the broker: the client's sockets go through a
// socket factory that can be cut — open connections are destroyed, new ones are refused — and
// restored. The broker keeps running for everyone else.
import { connect, type Socket } from "node:net";
import { Kafka, logLevel, type ISocketFactory } from "kafkajs";
import type { KafkaEndpoint } from "./servers.js";

export interface CuttableKafka {
  kafka: Kafka;
  cut(): void;
  restore(): void;
}

export function cuttableKafka(endpoint: KafkaEndpoint, clientId = "vigil-cuttable"): CuttableKafka {
  let down = false;
  const open = new Set<Socket>();
  const socketFactory: ISocketFactory = ({ host, port, onConnect }) => {
    // Port 1 on loopback refuses the connection: what an unreachable broker looks like.
    const socket = connect({ host, port: down ? 1 : port }, onConnect);
    socket.setKeepAlive(true, 60_000);
    open.add(socket);
    socket.on("close", () => open.delete(socket));
    return socket;
  };
  const kafka = new Kafka({
    clientId,
    brokers: endpoint.brokers,
    ssl: endpoint.ssl,
    ...(endpoint.sasl && { sasl: endpoint.sasl }),
    logLevel: logLevel.NOTHING,
    socketFactory,
  });
  return {
    kafka,
    cut() {
      down = true;
      // As a reset connection does: the client sees the error, not a socket that silently died.
      for (const socket of open)
        socket.destroy(
          Object.assign(new Error("connection reset (network cut)"), { code: "ECONNRESET" }),
        );
    },
    restore() {
      down = false;
    },
  };
}
