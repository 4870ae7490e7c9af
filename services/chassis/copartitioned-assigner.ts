// A partition assigner for stateful stages: partition p of every input topic goes to the same
// member — one task per partition number, as Kafka Streams assigns co-partitioned inputs — so a
// task's state and its transactional id live in exactly one instance. Tasks are spread evenly
// over the members (sorted by member id, so every member computes the same plan).
import { AssignerProtocol, type PartitionAssigner } from "kafkajs";

const { MemberAssignment, MemberMetadata } = AssignerProtocol;

export const copartitionedAssigner: PartitionAssigner = ({ cluster }) => ({
  name: "VigilCopartitioned",
  version: 1,
  async assign({ members, topics }) {
    const ids = members.map((m) => m.memberId).sort();
    const plan = new Map<string, Record<string, number[]>>(ids.map((id) => [id, {}]));
    for (const topic of topics)
      for (const { partitionId } of cluster.findTopicPartitionMetadata(topic)) {
        const owner = plan.get(ids[partitionId % ids.length]!)!;
        (owner[topic] ??= []).push(partitionId);
      }
    return ids.map((memberId) => ({
      memberId,
      memberAssignment: MemberAssignment.encode({
        version: 1,
        assignment: plan.get(memberId)!,
        userData: Buffer.alloc(0),
      }),
    }));
  },
  protocol: ({ topics }) => ({
    name: "VigilCopartitioned",
    metadata: MemberMetadata.encode({ version: 1, topics, userData: Buffer.alloc(0) }),
  }),
});
