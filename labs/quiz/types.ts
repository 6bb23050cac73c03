// The quiz bank's vocabulary: questions (multiple choice, or short answer
// with a model answer) and open design prompts with a checklist.

export const quizTopics = ['basics', 'async', 'sync', 'quorum', 'raft', 'membership', 'partitions', 'split-brain', 'consistency', 'ack-levels', 'replication-logs', 'leaderless', 'operations'] as const;
export type QuizTopic = (typeof quizTopics)[number];

interface QuestionBase {
  /** Unique, stable: progress is kept by id, and labs name their questions by it. */
  readonly id: string;
  readonly topic: QuizTopic;
  /** The lab that makes this happen on a real cluster; absent when no lab does (the question is about a system or mechanism the labs do not run). */
  readonly lab?: string;
  readonly prompt: string;
  /** Why the answer is right, precisely; shown after every answer. */
  readonly explanation: string;
  /** The manual or paper section that backs the answer, e.g. "Raft paper §5.4.2, Figure 8"; shown with the explanation. */
  readonly source: string;
}

export interface ChoiceQuestion extends QuestionBase {
  readonly kind: 'choice';
  readonly choices: readonly string[];
  /** Index into choices. */
  readonly answer: number;
}

export interface ShortQuestion extends QuestionBase {
  readonly kind: 'short';
  /** The model answer a person compares theirs with. */
  readonly answer: string;
  /** The model answer's key points: shown as a checklist the person ticks off against theirs. */
  readonly points: readonly string[];
  /** Answers graded right without asking (compared lowercased, spaces squeezed); absent: the person grades themself. */
  readonly accept?: readonly string[];
}

export type Question = ChoiceQuestion | ShortQuestion;

export interface DesignPrompt {
  readonly id: string;
  readonly title: string;
  readonly prompt: string;
  /** Points a strong answer covers. */
  readonly checklist: readonly string[];
  /** Labs that show the trade-offs involved. */
  readonly labs: readonly string[];
}
