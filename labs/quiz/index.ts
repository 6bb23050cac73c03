// Interview practice: the question bank, the design prompts, selection and
// grading, and the interactive runner.
export { questions } from './questions.js';
export { designPrompts } from './design.js';
export { quizTopics, type Question, type ChoiceQuestion, type ShortQuestion, type DesignPrompt, type QuizTopic } from './types.js';
export { selectQuestions, selectDesignPrompts, shuffleChoices, choiceBias, missedAdvice, topicChoices, isTopic, parseChoice, gradeShort, choiceLetter, type ChoiceBias } from './select.js';
export { askQuestions, askDesignPrompts, type QuizIo, type QuizAnswer, type QuizOutcome, type DesignOutcome } from './run.js';
