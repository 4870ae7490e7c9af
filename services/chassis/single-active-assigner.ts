// A partition assigner that gives every partition to one member of the group — the one that
// joined first — and none to the others, which stand by. The group protocol then does leader
// election for us: when the active member dies or leaves, the next oldest takes everything over.
// Used where one instance must act for the whole topic (the notifier: one page per incident).
import { AssignerProtocol, type PartitionAssigner } from "kafkajs";

const { MemberAssignment, MemberMetadata } = AssignerProtocol;

export function singleActiveAssigner(startedAt: number): PartitionAssigner {
  return ({ cluster }) => ({
    name: "VigilSingleActive",
    version: 1,
    async assign({ members, topics }) {
      const ages = members.map((m) => {
        const data = MemberMetadata.decode(m.memberMetadata)?.userData;
        const since =
          data && data.length >= 8 ? Number(data.readBigInt64BE(0)) : Number.MAX_SAFE_INTEGER;
        return { id: m.memberId, since };
      });
      ages.sort((a, b) => a.since - b.since || a.id.localeCompare(b.id));
      const active = ages[0]?.id;
      const all = Object.fromEntries(
        topics.map((topic) => [
          topic,
          cluster.findTopicPartitionMetadata(topic).map((p) => p.partitionId),
        ]),
      );
      return ages.map(({ id }) => ({
        memberId: id,
        memberAssignment: MemberAssignment.encode({
          version: 1,
          assignment: id === active ? all : {},
          userData: Buffer.alloc(0),
        }),
      }));
    },
    protocol({ topics }) {
      const userData = Buffer.alloc(8);
      userData.writeBigInt64BE(BigInt(startedAt));
      return {
        name: "VigilSingleActive",
        metadata: MemberMetadata.encode({ version: 1, topics, userData }),
      };
    },
  });
}
