//! The texts of a run's documents, held apart from the documents (in this process, or with the
//! shards that read them), and what a run asks of them: a few documents' texts, the sentences
//! that show a term for evidence, raw counts of seeds segmentation lost.

use serde::{Deserialize, Serialize};

use super::{check_len, decode, encode, AskShards, Holding, Places, Shards};
use crate::error::{Error, Result};
use crate::topics::theme_model::substring_counts;
use crate::trends::evidence::{first_sentence_with, Sentence};

/// One shard's texts as they travel: MessagePack of the list, in document order.
pub fn encode_texts(texts: &[String]) -> Result<Vec<u8>> {
    encode(&texts, "a shard's texts")
}

/// What the driver asks of one shard's texts. It is answered where the texts are (on a worker,
/// in a Ray run; [`answer_texts`]), so only the answer travels and the driver never holds a
/// shard's texts for a sentence or a count.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum TextRequest {
    /// The texts of these documents (places in the shard), in that order.
    Texts(Vec<usize>),
    /// For each (document, words): the document's first sentence holding one of the words.
    Sentences(Vec<(usize, Vec<String>)>),
    /// How often each needle occurs in these documents, in all.
    Occurrences { docs: Vec<usize>, needles: Vec<String> },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum TextAnswer {
    Texts(Vec<String>),
    Sentences(Vec<Option<Sentence>>),
    Occurrences(Vec<u64>),
}

impl TextRequest {
    /// The answer from `texts`, the shard's texts in document order.
    pub fn answer(&self, texts: &[String]) -> Result<TextAnswer> {
        let text = |d: usize| {
            texts.get(d).map(String::as_str).ok_or_else(|| {
                Error::Config(format!(
                    "asked for document {d} of a shard that holds {} texts; were the workers running another \
                     themeshift version, or was the shard read again from changed input?",
                    texts.len()
                ))
            })
        };
        Ok(match self {
            TextRequest::Texts(docs) => {
                TextAnswer::Texts(docs.iter().map(|&d| text(d).map(str::to_string)).collect::<Result<_>>()?)
            }
            TextRequest::Sentences(wanted) => TextAnswer::Sentences(
                wanted
                    .iter()
                    .map(|(d, words)| {
                        let words: Vec<&str> = words.iter().map(String::as_str).collect();
                        Ok(first_sentence_with(text(*d)?, &words))
                    })
                    .collect::<Result<_>>()?,
            ),
            TextRequest::Occurrences { docs, needles } => {
                let texts: Vec<&str> = docs.iter().map(|&d| text(d)).collect::<Result<_>>()?;
                let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
                TextAnswer::Occurrences(substring_counts(&texts, &needles))
            }
        })
    }
}

/// A worker's side of a [`TextRequest`]: the shard's texts (as [`encode_texts`] made them), the
/// part common to all shards (nothing, for texts) and the request, all MessagePack; the answer,
/// MessagePack.
pub fn answer_texts(texts: &[u8], _common: &[u8], request: &[u8]) -> Result<Vec<u8>> {
    let request: TextRequest = decode(request, "a text request")?;
    let answer = request.answer(&decode::<Vec<String>>(texts, "a shard's texts")?)?;
    encode(&answer, "a text answer")
}

/// The texts of a run's documents: held in this process, or with the shards that read them,
/// which answer what the run asks of them.
pub struct ShardTexts {
    shards: Shards,
    /// The texts when held here, in document order.
    here: Vec<String>,
}

impl ShardTexts {
    /// Texts held in this process, in document order (one shard, as far as asking goes).
    pub fn here(texts: Vec<String>) -> ShardTexts {
        ShardTexts { shards: Shards::here(texts.len()), here: texts }
    }

    /// Texts of shards with `documents[s]` documents each, asked of the shards by `ask`.
    pub fn asked(documents: &[usize], ask: AskShards) -> ShardTexts {
        ShardTexts { shards: Shards::asked(documents, ask), here: Vec::new() }
    }

    /// The texts of `docs` (indices into the joined corpus), in the order asked.
    pub fn texts_of(&self, docs: &[usize]) -> Result<Vec<String>> {
        let request = |places: &Places| TextRequest::Texts(places.iter().map(|&(_, p)| p).collect());
        self.per_document(docs, request, |answer| match answer {
            TextAnswer::Texts(texts) => Some(texts),
            _ => None,
        })
    }

    /// For each (document, words): the document's first sentence holding one of the words.
    pub fn sentences(&self, wanted: &[(usize, Vec<String>)]) -> Result<Vec<Option<Sentence>>> {
        let docs: Vec<usize> = wanted.iter().map(|(d, _)| *d).collect();
        let request =
            |places: &Places| TextRequest::Sentences(places.iter().map(|&(i, p)| (p, wanted[i].1.clone())).collect());
        self.per_document(&docs, request, |answer| match answer {
            TextAnswer::Sentences(sentences) => Some(sentences),
            _ => None,
        })
    }

    /// How often each needle occurs in the texts of `docs`, in all.
    pub fn occurrences(&self, docs: &[usize], needles: &[String]) -> Result<Vec<u64>> {
        let request = |places: &Places| TextRequest::Occurrences {
            docs: places.iter().map(|&(_, p)| p).collect(),
            needles: needles.to_vec(),
        };
        let mut total = vec![0; needles.len()];
        self.ask_each(docs, request, |_, answer| {
            let TextAnswer::Occurrences(counts) = answer else { return Err(other_kind()) };
            check_len(counts.len(), needles.len())?;
            total.iter_mut().zip(counts).for_each(|(all, n)| *all += n);
            Ok(())
        })?;
        Ok(total)
    }

    /// An answer per document of `docs`, in their order: each shard's answer (a list, one per
    /// document asked of it, taken from its [`TextAnswer`] by `take`) put back in place.
    fn per_document<T: Clone + Default>(
        &self,
        docs: &[usize],
        request: impl Fn(&Places) -> TextRequest,
        take: impl Fn(TextAnswer) -> Option<Vec<T>>,
    ) -> Result<Vec<T>> {
        let mut out = vec![T::default(); docs.len()];
        self.ask_each(docs, request, |places, answer| {
            let found = take(answer).ok_or_else(other_kind)?;
            check_len(found.len(), places.len())?;
            places.iter().zip(found).for_each(|(&(i, _), value)| out[i] = value);
            Ok(())
        })?;
        Ok(out)
    }

    /// One request to each shard holding one of `docs`, made by `request` from its places;
    /// `take` gets the answers beside those places, in shard order.
    fn ask_each(
        &self,
        docs: &[usize],
        request: impl Fn(&Places) -> TextRequest,
        take: impl FnMut(Places, TextAnswer) -> Result<()>,
    ) -> Result<()> {
        let places = self.shards.places(docs);
        self.shards.each(Holding::Texts, &(), places, request, |_, r| r.answer(&self.here), take)
    }
}

fn other_kind() -> Error {
    Error::Config("a shard answered a text request with another kind of answer".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shards() -> (Vec<Vec<String>>, Vec<usize>) {
        let texts: Vec<Vec<String>> =
            vec![vec!["甲".into(), "乙".into()], vec![], vec!["丙".into(), "丁".into(), "戊".into()]];
        let counts = texts.iter().map(Vec::len).collect();
        (texts, counts)
    }

    /// Texts asked of the shards, each request answered through its bytes as a worker would,
    /// with a log of the shards asked.
    fn asked(texts: Vec<Vec<String>>, counts: &[usize]) -> (ShardTexts, std::sync::Arc<std::sync::Mutex<Vec<usize>>>) {
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = log.clone();
        let ask: AskShards = std::sync::Arc::new(move |holding, common, requests| {
            assert_eq!(holding, Holding::Texts);
            let answers: Vec<Result<Vec<u8>>> = requests
                .into_iter()
                .map(|(s, request)| {
                    seen.lock().unwrap().push(s);
                    answer_texts(&encode_texts(&texts[s])?, &common, &request)
                })
                .collect();
            Ok(Box::new(answers.into_iter()))
        });
        (ShardTexts::asked(counts, ask), log)
    }

    #[test]
    fn answers_from_the_shards_are_the_answers_from_texts_held_here() {
        let (texts, counts) = shards();
        let here = ShardTexts::here(texts.concat());
        let (asked, log) = asked(texts, &counts);
        let docs = [4, 0, 3, 0];
        assert_eq!(asked.texts_of(&docs).unwrap(), here.texts_of(&docs).unwrap());
        assert_eq!(asked.texts_of(&docs).unwrap(), ["戊", "甲", "丁", "甲"]);
        // Only the shards holding an asked document were asked, each once per question.
        assert_eq!(*log.lock().unwrap(), [0, 2, 0, 2]);
        let wanted: Vec<(usize, Vec<String>)> =
            vec![(3, vec!["丁".into()]), (1, vec!["无".into()]), (0, vec!["乙".into(), "甲".into()])];
        let sentences = asked.sentences(&wanted).unwrap();
        assert_eq!(sentences, here.sentences(&wanted).unwrap());
        assert_eq!(
            sentences.iter().map(|s| s.as_ref().map(|s| s.term.as_str())).collect::<Vec<_>>(),
            [Some("丁"), None, Some("甲")]
        );
        let needles = ["甲".to_string(), "戊".to_string(), "己".to_string()];
        assert_eq!(asked.occurrences(&[0, 1, 4], &needles).unwrap(), [1, 1, 0]);
        assert_eq!(asked.occurrences(&[1, 2, 3], &needles).unwrap(), here.occurrences(&[1, 2, 3], &needles).unwrap());
    }

    #[test]
    fn a_shard_that_lacks_an_asked_document_or_answers_short_is_an_error() {
        let (_, counts) = shards();
        let (fewer, _) = asked(vec![vec!["甲".into()], vec![], vec![]], &counts);
        let error = fewer.texts_of(&[1]).unwrap_err().to_string();
        assert!(error.contains("asked for document 1 of a shard that holds 1 texts"), "{error}");
        let silent = ShardTexts::asked(&counts, std::sync::Arc::new(|_, _, _| Ok(Box::new(std::iter::empty()))));
        let error = silent.texts_of(&[0]).unwrap_err().to_string();
        assert!(error.contains("shard 0 sent no answer"), "{error}");
        let empty_answer = |_, _, _| -> Result<super::super::Answers> {
            Ok(Box::new(std::iter::once(encode(&TextAnswer::Texts(vec![]), "an answer"))))
        };
        let short = ShardTexts::asked(&counts, std::sync::Arc::new(empty_answer));
        let error = short.texts_of(&[0]).unwrap_err().to_string();
        assert!(error.contains("sent 0 answers for 1 questions"), "{error}");
    }
}
